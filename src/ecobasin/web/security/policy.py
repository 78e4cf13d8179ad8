"""Who may do what: the one place that decides (pure, no I/O).

Roles:

* ``admin`` — the whole region: reads everything, writes every city, manages users and tokens.
* ``editor`` of one city (``city_code``) — writes that city's sites, observations and records
  only; reads restricted data like a viewer.
* ``viewer`` — reads restricted data: enterprise outlets' data (site kinds ``gas_outlet`` and
  ``water_outlet``), alarms, devices, rejected records.
* ``partner`` — a partner's system on the carbon-inclusive ledger: only the ledger
  actions of its scopes (:data:`SCOPES`: ``ledger:events`` for a transport app posting trips,
  ``ledger:redeem`` for a merchant redeeming points), through API tokens, at the rate set for
  it (token bucket: :mod:`.ratelimit`); it reads no restricted data.
* reading a city's audit log (``read_audit``, issue 15): its editors and admins; an admin
  also reads the whole region's.
* ``enterprise`` — a listed enterprise (issue 17), bound to its unified social credit code
  (``uscc``): reads its own emergency-list measures, warnings, verdicts and evidence
  (``read_enterprise`` of its own USCC) and nothing else restricted.
* ``gate`` — a construction site's gate operator (issue 18, A6), bound to one site
  (``site_id``): checks machines at that site's gate (``machinery:gate``) and nothing else
  restricted.
* the public (no credentials) — reads published air and water quality, cities and the sites of
  kinds ``air_station``, ``micro_station`` and ``water_section``.

:func:`denial` gives the reason an action is refused (naming the right that is missing) or
``None``; :func:`can` is its yes/no. The web dependencies (:mod:`.deps`) turn a refusal into 401
(no credentials) or 403 (credentials without the right), for the API and the pages alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ecobasin.services import accounts as accounts_service
from ecobasin.workflow.consultation_roles import CONSULTATION_ROLES, ConsultationRole

__all__ = [
    "ACTIONS",
    "CASE_ACTIONS",
    "CASE_RIGHTS",
    "CASE_ROLES",
    "CONSULTATION_RIGHTS",
    "CONSULTATION_ROLES",
    "INCIDENT_ACTIONS",
    "PUBLIC",
    "PUBLIC_KINDS",
    "RESTRICTED_KINDS",
    "SCOPES",
    "Action",
    "CaseRole",
    "CaseScope",
    "ConsultationRole",
    "Principal",
    "Role",
    "can",
    "case_actor_role",
    "case_roles_on",
    "consultation_denial",
    "denial",
    "incident_denial",
    "readable_kinds",
]

Role = Literal["admin", "editor", "viewer", "partner", "enterprise", "gate", "public"]
#: ``read_public``: published data; ``read_restricted``: outlets, alarms, devices, rejected
#: records; ``write``: some city's data (which one is checked per record with ``city_code``);
#: ``admin``: users and tokens of everyone; ``ledger:events`` / ``ledger:redeem``: post
#: behaviour events / redeem points on the carbon-inclusive ledger (admins and partners with
#: that scope); ``read_audit``: the audit log of a city (``city_code``; None: every city).
#: ``read_enterprise``: one enterprise's emergency-list page, verdicts and evidence (``what``:
#: its USCC): restricted readers, and an enterprise user for its own USCC only.
#: ``close_finding``: close an emergency-list finding with a note, or link it to a supervision
#: case (``city_code``: the warning's city): admins, and editors of that city.
#: ``machinery:read``: the shared non-road machinery registry of every city (machines, owners,
#: inspections, findings; issue 18) for every signed-in account, the public seeing aggregated
#: counts only; ``machinery:write``: a city's registry records, zones and spot checks (its
#: editors and admins; ``city_code`` is the record's city).
#: ``machinery:gate``: a construction site's gate check of a machine (admit or refuse, logged;
#: ``city_code``: the site's city, ``what``: its site id): admins, editors of that city, and
#: the gate operator bound to that site.
#: ``open_noise_case``: open a rectification case from a noise complaint that is a case
#: candidate (``city_code``: the complaint's city): admins, and editors of that city.
Action = Literal[
    "read_public", "read_restricted", "write", "admin", "ledger:events", "ledger:redeem",
    "read_audit", "read_enterprise", "close_finding", "machinery:read", "machinery:write",
    "open_noise_case", "machinery:gate",
]  # fmt: skip
ACTIONS: tuple[Action, ...] = (
    "read_public", "read_restricted", "write", "admin", "ledger:events", "ledger:redeem",
    "read_audit", "read_enterprise", "close_finding", "machinery:read", "machinery:write",
    "open_noise_case", "machinery:gate",
)  # fmt: skip
#: The scopes a partner may hold, with what each allows (bilingual): defined with the accounts
#: that hold them (``ecobasin users create --scope``), decided here.
SCOPES = accounts_service.SCOPES

#: Site kinds whose data only signed-in users read (enterprise discharge outlets).
RESTRICTED_KINDS = ("gas_outlet", "water_outlet")
#: Site kinds everyone reads.
PUBLIC_KINDS = ("air_station", "micro_station", "water_section")

_ROLE_LABEL = {
    "admin": "admin 管理员",
    "editor": "editor 编辑",
    "viewer": "viewer 查看者",
    "partner": "partner 合作方",
    "enterprise": "enterprise 企业",
    "gate": "gate operator 工地门岗",
    "public": "the public 公众",
}


@dataclass(frozen=True)
class Principal:
    """Who is asking: a signed-in user (session cookie or API token) or the public.

    Attributes
    ----------
    name : str or None
        The user name; None for the public.
    role : Role
        admin, editor, viewer or public.
    city_code : int or None
        The editor's city (GB/T 2260 code); None for other roles.
    user_id : int or None
        The user's id in the store.
    via : str or None
        How the request was authenticated: ``session`` or ``token <id>``.
    session_id, csrf_token : str or None
        The cookie session and its CSRF token (sessions only).
    scopes : tuple of str
        A partner's scopes (:data:`SCOPES`); empty for other roles.
    rate_per_minute : float or None
        A partner's request rate [1/min] (token bucket refill); None: not limited.
    burst : int or None
        A partner's bucket size [requests].
    uscc : str or None
        An enterprise user's unified social credit code (统一社会信用代码); None otherwise.
    site_id : str or None
        A gate operator's construction site (``machinery_sites.site_id``); None otherwise.
    """

    name: str | None
    role: Role
    city_code: int | None = None
    user_id: int | None = None
    via: str | None = None
    session_id: str | None = None
    csrf_token: str | None = None
    scopes: tuple[str, ...] = ()
    rate_per_minute: float | None = None
    burst: int | None = None
    uscc: str | None = None
    site_id: str | None = None

    @property
    def authenticated(self) -> bool:
        return self.role != "public"

    def describe(self) -> str:
        """``editor of 510100 (cd_editor)``, ``viewer (alice)``, ``the public``."""
        if not self.authenticated:
            return "the public"
        if self.role == "editor":
            return f"editor of {self.city_code} ({self.name})"
        if self.role == "enterprise":
            return f"enterprise {self.uscc} ({self.name})"
        if self.role == "gate":
            return f"gate operator of site {self.site_id} ({self.name})"
        return f"{self.role} ({self.name})"


#: The principal of a request without credentials.
PUBLIC = Principal(name=None, role="public")


def denial(
    principal: Principal,
    action: Action,
    city_code: int | None = None,
    what: str | None = None,
) -> str | None:
    """Why ``principal`` may not do ``action`` (None when it may).

    Parameters
    ----------
    principal : Principal
        Who asks.
    action : Action
        What they want to do.
    city_code : int, optional
        For ``write``: the city whose data is written (its GB/T 2260 code). Without it only
        the role is checked (an editor of some city may write *something*).
    what : str, optional
        What is written, for the reason (``site 2286A``).

    Returns
    -------
    str or None
        A sentence naming the missing right, e.g. ``editor of 510100 (cd) may not write
        site 2286A of 510600``.
    """
    role = principal.role
    if action == "read_public":
        return None
    if action == "read_restricted":
        if role in ("admin", "editor", "viewer"):
            return None
        subject = f"{what} is restricted data" if what else "restricted data"
        return (
            f"{subject} (enterprise outlets, alarms, devices, rejected records): reading it "
            "needs a viewer, editor or admin account 受限数据需要登录"
        )
    if action == "write":
        target = what or "data"
        if role == "admin":
            return None
        if role == "editor":
            if city_code is None or city_code == principal.city_code:
                return None
            return f"{principal.describe()} may not write {target} of {city_code}"
        return (
            f"{_ROLE_LABEL[role]} may not write {target}: writing needs an editor of the "
            "city or an admin 写入需要该城市编辑或管理员权限"
        )
    if action == "admin":
        if role == "admin":
            return None
        return (
            f"{principal.describe()} may not administer users and tokens: it needs an admin "
            "account 需要管理员权限"
        )
    if action == "read_audit":
        return _audit_denial(principal, city_code)
    if action == "read_enterprise":
        return _enterprise_denial(principal, what)
    if action == "close_finding":
        if role == "admin" or (role == "editor" and city_code == principal.city_code):
            return None
        target = what or "a finding"
        return (
            f"{principal.describe()} may not close {target} of {city_code}: it needs an editor "
            "of that city or an admin 需要该城市编辑或管理员权限"
        )
    if action in ("machinery:read", "machinery:write"):
        return _machinery_denial(principal, action, city_code, what)
    if action == "machinery:gate":
        return _gate_denial(principal, city_code, what)
    if action == "open_noise_case":
        if role == "admin" or (role == "editor" and city_code == principal.city_code):
            return None
        return (
            f"{principal.describe()} may not open a case from {what or 'a noise complaint'} of "
            f"{city_code}: it needs an editor of that city or an admin 需要该城市编辑或管理员权限"
        )
    if action in SCOPES:
        return _scope_denial(principal, action)
    raise ValueError(f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")


def _gate_denial(principal: Principal, city_code: int | None, site_id: str | None) -> str | None:
    """A construction site's gate (A6): admins, the editors of the site's city, and the gate
    operator bound to that site (``site_id`` None: only the role is checked)."""
    role = principal.role
    if role == "admin" or (role == "editor" and city_code == principal.city_code):
        return None
    if role == "gate" and principal.site_id is not None and site_id in (None, principal.site_id):
        return None
    who = principal.describe() if principal.authenticated else _ROLE_LABEL[role]
    where = f"site {site_id}" if site_id else "a site"
    return (
        f"{who} may not check machines at the gate of {where} of {city_code}: it needs an "
        "editor of that city, that site's gate operator or an admin "
        "工地进出场核验需要该城市编辑、该工地门岗或管理员权限"
    )


def _audit_denial(principal: Principal, city_code: int | None) -> str | None:
    """A city's audit log: admins, and the editors of that city."""
    if principal.role == "admin":
        return None
    if principal.role == "editor" and city_code is not None and city_code == principal.city_code:
        return None
    whose = f"city {city_code}" if city_code is not None else "every city"
    return (
        f"{_ROLE_LABEL[principal.role] if not principal.authenticated else principal.describe()} "
        f"may not read the audit log of {whose}: an editor reads their city's, an admin every "
        "city's 审计日志仅限本市编辑或管理员查看"
    )


def _enterprise_denial(principal: Principal, uscc: str | None) -> str | None:
    """One enterprise's emergency data: restricted readers, and that enterprise itself."""
    if principal.role in ("admin", "editor", "viewer"):
        return None
    if principal.role == "enterprise" and uscc is not None and principal.uscc == uscc:
        return None
    whose = f"enterprise {uscc}" if uscc else "an enterprise"
    if principal.role == "enterprise":
        return (
            f"{principal.describe()} may read only its own enterprise, not {whose} "
            "企业用户只能查看本企业"
        )
    return (
        f"{_ROLE_LABEL[principal.role]} may not read the emergency data of {whose}: it needs "
        "that enterprise's account or a viewer, editor or admin account 需要本企业账户或查看权限"
    )


def _machinery_denial(
    principal: Principal, action: str, city_code: int | None, what: str | None
) -> str | None:
    """The shared machinery registry (issue 18; nonroad brief A7 "per-city roles"): every
    signed-in account of the region reads all of it (mutual recognition); a city's editors write
    that city's records; the public and partners read aggregated counts only."""
    role = principal.role
    if role == "admin" or (action == "machinery:read" and role in ("editor", "viewer")):
        return None
    if action == "machinery:write" and role == "editor":
        if city_code is None or city_code == principal.city_code:
            return None
        return f"{principal.describe()} may not write {what or 'machinery records'} of {city_code}"
    if action == "machinery:read":
        return (
            f"{_ROLE_LABEL[role]} may not read the machinery registry: the public sees aggregated "
            "counts only 非道路移动机械登记信息需要登录"
        )
    return (
        f"{_ROLE_LABEL[role]} may not write {what or 'machinery records'}: it needs an editor "
        "of the city or an admin 写入需要该城市编辑或管理员权限"
    )


def _scope_denial(principal: Principal, scope: str) -> str | None:
    """Ledger partner actions: admins, and partners holding the scope."""
    if principal.role == "admin" or (principal.role == "partner" and scope in principal.scopes):
        return None
    doing = SCOPES[scope]
    if principal.role == "partner":
        held = ", ".join(principal.scopes) or "none"
        return (
            f"{principal.describe()} lacks scope {scope} (holds: {held}): it may not {doing}; "
            "an admin grants scopes 缺少授权范围"
        )
    return (
        f"{_ROLE_LABEL[principal.role]} may not {doing}: it needs an admin or a partner token "
        f"with scope {scope} 需要管理员或具有该授权范围的合作方令牌"
    )


def can(
    principal: Principal, action: Action, city_code: int | None = None, what: str | None = None
) -> bool:
    """Whether ``principal`` may do ``action`` (on ``city_code``'s ``what``: :func:`denial`)."""
    return denial(principal, action, city_code, what) is None


def readable_kinds(principal: Principal) -> tuple[str, ...] | None:
    """Site kinds whose data ``principal`` may read: None for all, else the public kinds."""
    return None if can(principal, "read_restricted") else PUBLIC_KINDS


# ---- joint forecast consultation (issue 16) ---------------------------------------------------

# The consultation roles (CONSULTATION_ROLES, ConsultationRole) are the workflow's vocabulary
# (ecobasin.workflow.consultation_roles, imported above); what each may do is decided here.
#: Who may fire each consultation action: "chair", a role, or "own_city:<role>" (that role of the
#: city the record belongs to).
CONSULTATION_RIGHTS: dict[str, tuple[str, ...]] = {
    "read": ("chair", *CONSULTATION_ROLES),
    "comment": ("chair", "province_coordinator", "city_forecaster", "city_approver", "expert"),
    "schedule": ("chair", "province_coordinator"),
    "open_submissions": ("chair", "province_coordinator"),
    "submit": ("own_city:city_forecaster", "own_city:city_approver"),
    "close_submissions": ("chair", "province_coordinator"),
    "start_session": ("chair", "province_coordinator"),
    "resolve": ("chair", "province_coordinator"),
    "set_consensus": ("chair", "province_coordinator"),
    "set_warning": ("chair", "province_coordinator"),
    "conclude": ("chair", "province_coordinator"),
    "draft_report": ("chair", "province_coordinator"),
    "sign": ("chair",),
    "amend": ("chair", "province_coordinator"),
    "cancel": ("chair", "province_coordinator"),
    "archive": ("province_coordinator",),
    "handover": ("province_coordinator",),
    "recommend_warning": ("province_coordinator",),
    "reject_warning": ("province_coordinator",),
    "escalate_warning": ("province_coordinator",),
    "de_escalate_warning": ("province_coordinator",),
    "lift_warning": ("province_coordinator",),
    "city_ack": ("own_city:city_approver",),
    "notifications": ("chair", *CONSULTATION_ROLES),  # one's own, read and marked read
    "record_minutes": ("chair", "province_coordinator"),
    "close_action": ("chair", "province_coordinator", "own_city:city_approver"),
    "issue_letter": ("province_coordinator",),
    "publish_forecast": ("chair", "province_coordinator"),
}


def consultation_denial(
    principal: Principal,
    roles: tuple[tuple[str, int | None], ...],
    action: str,
    chair_city: int,
    city: int | None = None,
) -> str | None:
    """Why ``principal`` holding consultation ``roles`` may not do ``action`` (None: it may).

    ``chair_city`` is the chair city of the session (from the rota); ``city`` the city the record
    belongs to (a submission, an acknowledgement).
    """
    if action not in CONSULTATION_RIGHTS:
        raise ValueError(f"unknown consultation action {action!r}")
    held = set(roles)
    for right in CONSULTATION_RIGHTS[action]:
        if right == "chair" and ("city_approver", chair_city) in held:
            return None
        if right.startswith("own_city:") and city is not None and (right[9:], city) in held:
            return None
        if any(role == right for role, _ in held):
            return None
    needed = ", ".join(CONSULTATION_RIGHTS[action])
    target = f" for {city}" if city is not None else ""
    return (
        f"{principal.describe()} may not {action}{target} in the consultation: it needs {needed} "
        "会商权限不足"
    )


# ── sudden water-pollution incidents on shared rivers (issue 22) ────────────────────────────
#: incident actions: read the incident; open it (the source city); acknowledge a notice,
#: enter monitoring results, approve the joint plan, ask for or dispatch materials (a city on
#: the incident: the source or one told by a notice); refit the forecast (the source city);
#: ``stock``: keep the emergency reserves of a city's depots (``source_city``: that city)
INCIDENT_ACTIONS = (
    "read", "open", "acknowledge", "results", "approve", "materials", "refit", "stock",
)  # fmt: skip


def incident_denial(
    principal: Principal, action: str, source_city: int, involved: tuple[int, ...] = ()
) -> str | None:
    """Why ``principal`` may not do ``action`` on an incident of ``source_city`` whose notices
    went to ``involved`` cities (None: it may). Admins (the provincial office) do everything;
    viewers read; a city's editors open incidents of their own city and act on any incident
    their city is involved in (brief incidents.md §3, rights); the public nothing."""
    if action not in INCIDENT_ACTIONS:
        raise ValueError(f"unknown incident action {action!r}")
    if principal.role == "admin":
        return None
    if principal.role == "viewer" and action == "read":
        return None
    if principal.role == "editor" and principal.city_code is not None:
        own = principal.city_code
        if action in ("open", "refit", "stock"):
            if own == source_city:
                return None
        elif own == source_city or own in involved:
            return None
    return (
        f"{principal.describe()} may not {action} on an incident of city {source_city} "
        "突发事件权限不足"
    )


# ---- rectification cases and key tasks (issue 18) ---------------------------------------------

#: Case roles on top of the account roles (consultation_and_cases.md §2.2 "Roles"), each held
#: with a city (None: the province or the whole region) and, for units, the unit's name.
CaseRole = Literal[
    "supervision_office", "lead_unit", "co_unit", "city_office", "joint_office", "province",
    "public",
]  # fmt: skip
CASE_ROLES: tuple[CaseRole, ...] = (
    "supervision_office", "lead_unit", "co_unit", "city_office", "joint_office", "province",
    "public",
)  # fmt: skip


def _machine_rights() -> dict[str, tuple[str, ...]]:
    """Who fires each state-machine action: the ``who`` column of the transition table
    (:data:`ecobasin.workflow.cases.TRANSITIONS`); ``acceptance_unit`` is the city office or
    the province, by the case's acceptance level (checked per case)."""
    from ecobasin.workflow.cases import TRANSITIONS

    rights: dict[str, set[str]] = {}
    for (_, _, action), (_, who, _) in TRANSITIONS.items():
        for role in who:
            expanded = ("city_office", "province") if role == "acceptance_unit" else (role,)
            rights.setdefault(action, set()).update(expanded)
    return {a: tuple(r for r in CASE_ROLES if r in roles) for a, roles in rights.items()}


#: Every case and key-task action with the case roles that may do it. Besides the machine:
#: ``read_internal`` (the whole case, its evidence and trail), ``upload_evidence``,
#: ``open_from_finding`` (an alarm, an emergency-list finding or a noise complaint opens a case),
#: ``manage_inspections`` (record an inspection 督察 and its feedback problems, each opening or
#: linking cases), ``grant_case_role``, ``manage_key_tasks`` (plans, imports, decisions into tasks),
#: ``report_key_task`` (progress of an owned key task), ``read_public`` (Open311 disclosure).
CASE_RIGHTS: dict[str, tuple[str, ...]] = {
    **_machine_rights(),
    "edit_acceptance": (),  # an issued acceptance is never edited, by anyone
    "read_internal": (
        "supervision_office", "lead_unit", "co_unit", "city_office", "joint_office", "province",
    ),
    "upload_evidence": ("lead_unit", "co_unit", "city_office", "province", "supervision_office"),
    "open_from_finding": ("supervision_office", "province"),
    "grant_case_role": ("province",),
    "manage_key_tasks": ("supervision_office", "joint_office", "province"),
    "manage_inspections": ("supervision_office", "joint_office"),
    "report_key_task": ("lead_unit", "city_office", "supervision_office", "province"),
    "read_public": ("public",),
}  # fmt: skip
CASE_ACTIONS: tuple[str, ...] = tuple(CASE_RIGHTS)


@dataclass(frozen=True)
class CaseScope:
    """What a case action is about: the case's city, units, acceptance level and sides."""

    city_code: int | None = None
    lead_unit: str = ""
    co_units: tuple[str, ...] = ()
    acceptance_level: str = "city"
    jurisdictions: tuple[int, ...] = ()
    kind: str = "task"


def _holds_on(role: str, city: int | None, unit: str, scope: CaseScope) -> bool:
    """Whether a role held for ``city`` and ``unit`` applies to the case of ``scope``."""
    in_city = city is None or city in (*scope.jurisdictions, scope.city_code)
    if role == "province":
        return True
    if role == "lead_unit":
        return in_city and unit == scope.lead_unit
    if role == "co_unit":
        return in_city and unit in scope.co_units
    return in_city


def case_roles_on(
    held: tuple[tuple[str, int | None, str], ...], scope: CaseScope | None
) -> tuple[str, ...]:
    """The case roles ``held`` (role, city, unit) give on ``scope`` (None: no particular case),
    always including ``public``."""
    roles = [r for r, city, unit in held if scope is None or _holds_on(r, city, unit, scope)]
    return (*dict.fromkeys(roles), "public")


def _acceptance_actions() -> frozenset[str]:
    from ecobasin.workflow.cases import TRANSITIONS

    return frozenset(
        a for (_, _, a), (_, who, _) in TRANSITIONS.items() if "acceptance_unit" in who
    )


def case_actor_role(
    principal: Principal,
    held: tuple[tuple[str, int | None, str], ...],
    action: str,
    scope: CaseScope | None = None,
) -> tuple[str | None, str | None]:
    """(the role ``principal`` acts in, None) or (None, why it may not ``action`` on ``scope``).

    The first of :data:`CASE_RIGHTS`'s roles for the action that ``held`` gives on the case
    wins (so a city office acting as acceptance unit is audited as such).
    """
    if action not in CASE_RIGHTS:
        raise ValueError(
            f"unknown case action {action!r}; expected one of {', '.join(CASE_ACTIONS)}"
        )
    mine = case_roles_on(held, scope)
    allowed = CASE_RIGHTS[action]
    if scope is not None and scope.kind == "task" and action in _acceptance_actions():
        # the acceptance unit is the one the problem list names: province or city (§2.2)
        allowed = ("province",) if scope.acceptance_level == "province" else ("city_office",)
    for role in allowed:
        if role in mine:
            return role, None
    needed = ", ".join(allowed) or "nobody"
    where = f" on the case of {scope.city_code}" if scope and scope.city_code else ""
    held_text = ", ".join(r for r in mine if r != "public") or "none"
    return None, (
        f"{principal.describe()} may not {action}{where}: it needs {needed} (holds: {held_text}) "
        "督察整改权限不足"
    )
