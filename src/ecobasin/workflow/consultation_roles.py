"""The roles of the joint forecast consultation (联合会商), on top of the city rights (design
§1.2 "Roles"): a user may hold several, each scoped to a city (None: the province or an
institute). The chair is no stored role: it is the ``city_approver`` (city lead) of the city
the rota names for the session date.

The vocabulary only: who may do what is decided in ``web.security.policy``; the command line
(``ecobasin consultation role``) checks names against it without importing the web.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["CONSULTATION_ROLES", "ConsultationRole"]

ConsultationRole = Literal[
    "province_coordinator", "city_forecaster", "city_approver", "expert", "observer"
]
CONSULTATION_ROLES: tuple[ConsultationRole, ...] = (
    "province_coordinator", "city_forecaster", "city_approver", "expert", "observer"
)  # fmt: skip
