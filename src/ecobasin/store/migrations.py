"""The store's schema, as an ordered list of migrations applied on open.

Each migration is applied once, in one transaction, and recorded in ``schema_version``. Never edit
a migration that has shipped: add the next one. Times are UTC instants (TIMESTAMPTZ); an hourly
value sits at the instant its hour ends (see ``ecobasin.timebase``).
"""

from __future__ import annotations

from collections.abc import Collection

#: one migration: (version, description, SQL)
Migration = tuple[int, str, str]


def migration_batches(migrations: list[Migration], done: Collection[int]) -> list[list[Migration]]:
    """The pending migrations, grouped into the transactions that apply them, in order.

    A new file (nothing applied yet) takes all of them in one transaction: one commit, not one
    per migration each waiting for the disk (docs/measurements.md, "Test suite speed floors,
    fifth pass"); a failure leaves no migration applied, and the next open starts again. A
    file being upgraded keeps one transaction per migration, so an interrupted upgrade keeps
    the migrations it finished. Either way a migration is applied whole or not at all.
    """
    pending = [migration for migration in migrations if migration[0] not in done]
    if not done:
        return [pending] if pending else []
    return [[migration] for migration in pending]


MIGRATIONS: list[Migration] = [
    (
        1,
        "cities, parameters, sites, observations, meteorology, rejected records, import batches",
        """
        CREATE TABLE cities (
            code        INTEGER PRIMARY KEY,      -- GB/T 2260 division code, e.g. 510100
            name_zh     VARCHAR NOT NULL,
            name_en     VARCHAR NOT NULL,
            province_zh VARCHAR,
            province_en VARCHAR,
            lon         DOUBLE,                   -- label point [°E]
            lat         DOUBLE,                   -- [°N]
            in_region   BOOLEAN NOT NULL DEFAULT false
        );
        CREATE SEQUENCE parameter_keys START 1;
        CREATE SEQUENCE site_keys START 1;
        CREATE TABLE parameters (
            parameter   VARCHAR PRIMARY KEY,      -- ecobasin id: PM2.5, CO, NH3N, FG_SO2 ...
            domain      VARCHAR NOT NULL,         -- air, water, flue_gas, met
            hj212_2017  VARCHAR,
            hj212_2005  VARCHAR,
            name_zh     VARCHAR NOT NULL,
            name_en     VARCHAR NOT NULL,
            unit        VARCHAR NOT NULL,         -- canonical unit of every stored value
            min_value   DOUBLE,
            max_value   DOUBLE,
            decimals    INTEGER,
            parameter_key SMALLINT NOT NULL UNIQUE DEFAULT nextval('parameter_keys')
        );
        CREATE TABLE sites (
            site_id     VARCHAR PRIMARY KEY,      -- CNEMC code (1431A), section code, outlet id
            kind        VARCHAR NOT NULL CHECK (kind IN (
                            'air_station', 'micro_station', 'water_section',
                            'gas_outlet', 'water_outlet')),
            level       VARCHAR NOT NULL DEFAULT 'national' CHECK (level IN (
                            'national', 'provincial', 'city', 'enterprise', 'other')),
            city_code   INTEGER NOT NULL,
            name_zh     VARCHAR,
            name_en     VARCHAR,
            lon         DOUBLE,                   -- WGS-84 [°E]
            lat         DOUBLE,                   -- WGS-84 [°N]
            attributes  JSON,                     -- river, basin, target class, enterprise ...
            source      VARCHAR,
            updated_at  TIMESTAMPTZ NOT NULL,
            site_key    INTEGER NOT NULL UNIQUE DEFAULT nextval('site_keys')
        );
        -- The fact table holds integer keys (appends run about twice as fast as with text
        -- keys); everything reads it through the `observations` view, by site and parameter id.
        CREATE TABLE observation_values (
            site_key    INTEGER NOT NULL,         -- sites.site_key
            parameter_key SMALLINT NOT NULL,      -- parameters.parameter_key
            period      VARCHAR NOT NULL,         -- 1h, 1d, 10min, 1min, instant
            time        TIMESTAMPTZ NOT NULL,     -- UTC; end of the averaging period
            value       DOUBLE,
            flag        VARCHAR,                  -- HJ 212 data flag (N, F, M, S, D, C, T, B) or source flag
            batch_id    INTEGER NOT NULL          -- import_batches: where and when it came in
            -- one row per (site, parameter, period, time): the store's only writer,
            -- Store.write_observations, upserts by that key. No index: appends stay fast
            -- and time-ordered data lets DuckDB's zone maps prune the key lookups.
        );
        CREATE VIEW observations AS
            SELECT s.site_id, p.parameter, v.period, v.time, v.value, v.flag, v.batch_id
            FROM observation_values v
            JOIN sites s ON s.site_key = v.site_key
            JOIN parameters p ON p.parameter_key = v.parameter_key;
        CREATE TABLE meteorology (
            city_code   INTEGER NOT NULL,
            parameter   VARCHAR NOT NULL,         -- temperature, humidity, pressure, wind_speed ...
            period      VARCHAR NOT NULL,
            time        TIMESTAMPTZ NOT NULL,
            value       DOUBLE,
            source      VARCHAR NOT NULL,
            ingested_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (city_code, parameter, period, time)
        );
        CREATE TABLE rejected (
            source      VARCHAR NOT NULL,         -- file name, device MN, API caller
            record_ref  VARCHAR NOT NULL,         -- line 12, line 12 column 1431A, packet QN ...
            reason_code VARCHAR NOT NULL,         -- unknown_site, unit_mismatch, impossible_value ...
            reason      VARCHAR NOT NULL,         -- the sentence a person reads
            raw         VARCHAR,                  -- the record as received
            batch_id    INTEGER,
            rejected_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (source, record_ref, reason_code)
        );
        CREATE SEQUENCE batch_ids START 1;
        CREATE TABLE import_batches (
            batch_id    INTEGER PRIMARY KEY DEFAULT nextval('batch_ids'),
            kind        VARCHAR NOT NULL,         -- cnemc, csv, demo, gateway ...
            source      VARCHAR NOT NULL,
            started_at  TIMESTAMPTZ NOT NULL,
            finished_at TIMESTAMPTZ,
            counts      JSON
        );
        """,
    ),
    (
        2,
        "air quality: hourly and daily AQI per station and per city (HJ 633-2012 / HJ 633-2026)",
        """
        -- Written only by ecobasin.store.air (recomputed by ecobasin.jobs.air_quality). A
        -- recompute deletes the affected keys and inserts the new rows in one transaction.
        -- Concentrations are the reported values (GB/T 8170 rounded: integers [ug/m3], CO one
        -- decimal [mg/m3]) the IAQIs were computed from; NULL = missing or invalid.
        CREATE TABLE aqi_hourly (
            scope       VARCHAR NOT NULL CHECK (scope IN ('site', 'city')),
            scope_id    VARCHAR NOT NULL,         -- site_id, or the city code as text
            time        TIMESTAMPTZ NOT NULL,     -- UTC; end of the hour (hour-ending)
            rule_set    VARCHAR NOT NULL,         -- HJ633-2012 or HJ633-2026
            aqi         SMALLINT,                 -- NULL when not published (HJ 633-2026 5.3.1)
            level       TINYINT,                  -- 1..6 (HJ 633 level table), NULL with aqi
            primary_pollutant VARCHAR,            -- 'PM2.5', 'PM2.5,PM10'; '' when AQI <= 50
            exceeding   VARCHAR,                  -- IAQI > 100 (HJ 633-2012 3.4); NULL under 2026
            publish_aqi BOOLEAN NOT NULL,
            incomplete  BOOLEAN NOT NULL,         -- an indicator is missing
            over_range  BOOLEAN NOT NULL,         -- a concentration above the table (IAQI 500)
            iaqi_so2    SMALLINT,
            iaqi_no2    SMALLINT,
            iaqi_pm10   SMALLINT,
            iaqi_co     SMALLINT,
            iaqi_o3_1h  SMALLINT,
            iaqi_o3_8h  SMALLINT,                 -- HJ 633-2012 only (8-h moving mean)
            iaqi_pm25   SMALLINT,
            so2_1h      DOUBLE,                   -- 1-h means [ug/m3], CO [mg/m3]
            no2_1h      DOUBLE,
            co_1h       DOUBLE,
            o3_1h       DOUBLE,
            pm10_1h     DOUBLE,
            pm25_1h     DOUBLE,
            o3_8h       DOUBLE,                   -- HJ 633-2012 real-time report only:
            pm10_24h    DOUBLE,                   --   O3 8-h and PM 24-h moving means,
            pm25_24h    DOUBLE,                   --   SO2 24-h moving mean (SO2 1-h > 800 rule)
            so2_24h     DOUBLE,
            n_stations  SMALLINT,                 -- city rows: stations with data that hour
            computed_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (scope, scope_id, time)
        );
        CREATE TABLE aqi_daily (
            scope       VARCHAR NOT NULL CHECK (scope IN ('site', 'city')),
            scope_id    VARCHAR NOT NULL,
            day         DATE NOT NULL,            -- CST day: hours labelled 01:00 ... 24:00
            rule_set    VARCHAR NOT NULL,
            so2         DOUBLE,                   -- 24-h means [ug/m3] (>= 20 h, GB 3095 Table 4)
            no2         DOUBLE,
            co          DOUBLE,                   -- [mg/m3]
            pm10        DOUBLE,
            pm25        DOUBLE,
            o3_8h       DOUBLE,                   -- O3 daily maximum 8-h mean (HJ 663 6)
            o3_1h       DOUBLE,                   -- O3 daily maximum 1-h value
            n_so2       SMALLINT,                 -- site: valid hours; city: stations with a
            n_no2       SMALLINT,                 --   valid daily value
            n_co        SMALLINT,
            n_pm10      SMALLINT,
            n_pm25      SMALLINT,
            n_o3        SMALLINT,                 -- site: valid O3 hours
            n_o3_8h     SMALLINT,                 -- site: valid 8-h windows; city: stations
            aqi         SMALLINT,
            level       TINYINT,
            primary_pollutant VARCHAR,
            exceeding   VARCHAR,
            publish_aqi BOOLEAN NOT NULL,
            incomplete  BOOLEAN NOT NULL,
            over_range  BOOLEAN NOT NULL,
            iaqi_so2    SMALLINT,
            iaqi_no2    SMALLINT,
            iaqi_pm10   SMALLINT,
            iaqi_co     SMALLINT,
            iaqi_o3_1h  SMALLINT,                 -- HJ 633-2012 only (daily max 1-h)
            iaqi_o3_8h  SMALLINT,
            iaqi_pm25   SMALLINT,
            n_stations  SMALLINT,                 -- city rows: stations with data that day
            computed_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (scope, scope_id, day)
        );
        """,
    ),
    (
        3,
        "HJ 212 gateway: devices, raw-log checkpoints, message dedup, pending sub-packets",
        """
        -- Written only by ecobasin.store.gateway (the gateway's writer thread and the CLI).
        CREATE TABLE devices (
            mn          VARCHAR PRIMARY KEY,      -- HJ 212 device id (MN, 表3)
            password    VARCHAR NOT NULL,         -- access password (PW, 表3)
            site_id     VARCHAR NOT NULL,         -- sites.site_id the device reports for
            protocol    VARCHAR NOT NULL DEFAULT '2017' CHECK (protocol IN ('2017', '2005')),
            crc_mode    VARCHAR NOT NULL DEFAULT 'hj212'
                        CHECK (crc_mode IN ('hj212', 'modbus', 'modbus_swapped')),
            enabled     BOOLEAN NOT NULL DEFAULT true,
            interval_s  INTEGER,                  -- expected reporting interval [s]
            added_at    TIMESTAMPTZ NOT NULL
        );
        -- Last raw-log record written to the store, per raw log; updated in the same
        -- transaction as the observations it covers (exactly-once after a crash).
        CREATE TABLE gateway_checkpoints (
            log_id      VARCHAR PRIMARY KEY,      -- the raw log's id (segment file header)
            last_seq    BIGINT NOT NULL,
            updated_at  TIMESTAMPTZ NOT NULL
        );
        -- One row per data message (device, command, data time, packet number): a retried
        -- message is acknowledged again but stored once and counted here.
        CREATE TABLE gateway_messages (
            mn          VARCHAR NOT NULL,
            cn          VARCHAR NOT NULL,
            data_time   VARCHAR NOT NULL,         -- DataTime as sent (QN when absent)
            pno         INTEGER NOT NULL,         -- PNO of a sub-packet, 0 otherwise
            log_id      VARCHAR NOT NULL,
            first_seq   BIGINT NOT NULL,          -- raw-log record first stored
            received_at TIMESTAMPTZ NOT NULL,
            duplicates  INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (mn, cn, data_time, pno)
        );
        -- Sub-packets (Flag.D = 1) waiting for the rest of their set (HJ 212-2017 表3 PNUM/PNO).
        CREATE TABLE gateway_subpackets (
            mn          VARCHAR NOT NULL,
            qn          VARCHAR NOT NULL,
            pnum        INTEGER NOT NULL,
            pno         INTEGER NOT NULL,
            seq         BIGINT NOT NULL,
            received_at TIMESTAMPTZ NOT NULL,
            peer        VARCHAR NOT NULL,
            frame       BLOB NOT NULL,            -- the frame as received
            PRIMARY KEY (mn, qn, pno)
        );
        """,
    ),
    (
        4,
        "alarms (over-limit, persistent flags, silence) and imported permit emission limits",
        """
        -- Written only by ecobasin.store.alarms (ecobasin.jobs.alarms recomputes a window of
        -- sites: their episodes overlapping it are replaced in one transaction).
        CREATE TABLE alarms (
            alarm_id    VARCHAR PRIMARY KEY,      -- stable: hash of kind, site, parameter, flag, start
            kind        VARCHAR NOT NULL CHECK (kind IN ('over_limit', 'flag_persistent', 'silent')),
            site_id     VARCHAR NOT NULL,
            city_code   INTEGER,
            parameter   VARCHAR,                  -- NULL for silent
            flag        VARCHAR,                  -- flag_persistent: the HJ 212 data flag
            start_time  TIMESTAMPTZ NOT NULL,     -- UTC; start of the first period / last reading
            end_time    TIMESTAMPTZ,              -- UTC; NULL while open
            status      VARCHAR NOT NULL CHECK (status IN ('open', 'closed')),
            peak        DOUBLE,                   -- over_limit: highest value [unit of the limit]
            limit_value DOUBLE,                   -- over_limit: limit at the peak
            multiple    DOUBLE,                   -- over_limit: peak / limit
            periods     INTEGER,                  -- over-limit periods, flagged readings
            evidence    JSON NOT NULL,            -- values, limit and its source, rule
            created_at  TIMESTAMPTZ NOT NULL,
            updated_at  TIMESTAMPTZ NOT NULL
        );
        -- Emission-permit (排污许可证) limits per site and parameter; they win over the standard
        -- limit of the site's source category.
        CREATE TABLE permit_limits (
            site_id     VARCHAR NOT NULL,
            parameter   VARCHAR NOT NULL,         -- registry id; <flue-gas id>_Zs at reference O2
            limit_value DOUBLE NOT NULL,          -- [unit]
            unit        VARCHAR NOT NULL,         -- the parameter's canonical unit
            basis       VARCHAR NOT NULL,         -- '' (standard's / domain default), 1h, 1d
            permit_id   VARCHAR,
            note        VARCHAR,
            source      VARCHAR NOT NULL,         -- the imported file
            imported_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (site_id, parameter)
        );
        """,
    ),
    (
        5,
        "rights: users, sessions, API tokens, sign-in log, secrets, audit of writes",
        """
        -- Written only by ecobasin.store.users. Passwords are Argon2id hashes (PHC strings);
        -- tokens keep only the SHA-256 of their secret. Rows are never deleted: users are
        -- disabled, sessions and tokens revoked, so the audit trail keeps its names.
        CREATE SEQUENCE user_ids START 1;
        CREATE TABLE users (
            user_id     INTEGER PRIMARY KEY DEFAULT nextval('user_ids'),
            name        VARCHAR NOT NULL UNIQUE,
            role        VARCHAR NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
            city_code   INTEGER,                  -- editors: the one city they write
            password_hash VARCHAR NOT NULL,       -- Argon2id PHC string
            disabled    BOOLEAN NOT NULL DEFAULT false,
            created_at  TIMESTAMPTZ NOT NULL,
            CHECK ((role = 'editor') = (city_code IS NOT NULL))
        );
        CREATE TABLE sessions (
            session_id  VARCHAR PRIMARY KEY,      -- random, 256 bits, inside a signed cookie
            user_id     INTEGER NOT NULL,
            csrf_token  VARCHAR NOT NULL,         -- embedded in forms, sent as X-CSRF-Token
            created_at  TIMESTAMPTZ NOT NULL,
            expires_at  TIMESTAMPTZ NOT NULL,
            revoked_at  TIMESTAMPTZ,              -- sign-out, user disabled
            ip          VARCHAR
        );
        CREATE SEQUENCE token_ids START 1;
        CREATE TABLE api_tokens (
            token_id    INTEGER PRIMARY KEY DEFAULT nextval('token_ids'),
            user_id     INTEGER NOT NULL,
            name        VARCHAR NOT NULL,         -- what the token is for
            secret_sha256 VARCHAR NOT NULL,       -- hex SHA-256 of the secret part
            created_at  TIMESTAMPTZ NOT NULL,
            expires_at  TIMESTAMPTZ,              -- NULL: until revoked
            last_used_at TIMESTAMPTZ,
            revoked_at  TIMESTAMPTZ
        );
        CREATE TABLE signin_log (
            time        TIMESTAMPTZ NOT NULL,
            user_name   VARCHAR NOT NULL,         -- as typed (may name no user)
            ip          VARCHAR,
            ok          BOOLEAN NOT NULL,
            reason      VARCHAR NOT NULL          -- ok, bad_password, unknown_user, disabled, rate_limited
        );
        CREATE TABLE secrets (
            name        VARCHAR PRIMARY KEY,      -- session_key
            value       VARCHAR NOT NULL,
            created_at  TIMESTAMPTZ NOT NULL
        );
        CREATE SEQUENCE audit_ids START 1;
        CREATE TABLE audit_log (
            audit_id    INTEGER PRIMARY KEY DEFAULT nextval('audit_ids'),
            time        TIMESTAMPTZ NOT NULL,
            user_name   VARCHAR NOT NULL,
            via         VARCHAR NOT NULL,         -- session, token 12, cli
            action      VARCHAR NOT NULL,         -- observations.write, sites.create, users.disable ...
            target      VARCHAR NOT NULL,         -- site id, user name, token id
            city_code   INTEGER,
            detail      JSON
        );
        """,
    ),
    (
        6,
        "surface water: section and group period results, compensation and settlements",
        """
        -- Written only by ecobasin.store.water (recomputed by ecobasin.jobs.water_quality: the
        -- rows of the recomputed periods are deleted and inserted in one transaction).
        -- period: '2025-10' (month, CST calendar) or '2025' (year); concentrations [mg/L].
        CREATE TABLE water_section_results (
            site_id     VARCHAR NOT NULL,
            period      VARCHAR NOT NULL,
            period_kind VARCHAR NOT NULL CHECK (period_kind IN ('month', 'year')),
            water_body  VARCHAR NOT NULL,         -- river or lake (TP/TN column of GB 3838)
            target_class TINYINT,                 -- 1..5, NULL when the site names none
            class_num   TINYINT NOT NULL,         -- 1..6 (6 = worse than V), 0 = no data
            class       VARCHAR,                  -- I .. V, 劣V
            status_num  TINYINT,                  -- 1 优 .. 5 重度污染 (环办〔2011〕22号 Table 1)
            meets_target BOOLEAN,
            determining VARCHAR,                  -- items at the section class, comma-separated
            main_pollutants JSON,                 -- [{"indicator", "class", "multiple"}]
            main_display VARCHAR,                 -- 氨氮(0.4),总磷(0.2)
            cwqi        DOUBLE,                   -- section CWQI (环办监测〔2017〕51号), unrounded
            tli         DOUBLE,                   -- lakes: TLI(Σ), unrounded
            tn_class    TINYINT,                  -- reported apart
            fc_class    TINYINT,
            means       JSON,                     -- {item: period mean}, unrounded
            sources     JSON,                     -- {item: "auto" | "manual"}
            n_items     SMALLINT NOT NULL,
            complete    BOOLEAN NOT NULL,         -- every item's period statistic complete
            computed_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (site_id, period)
        );
        CREATE TABLE water_group_results (
            scope       VARCHAR NOT NULL CHECK (scope IN ('river', 'basin', 'city', 'region')),
            scope_id    VARCHAR NOT NULL,         -- river or basin name (zh), city code, region id
            period      VARCHAR NOT NULL,
            period_kind VARCHAR NOT NULL CHECK (period_kind IN ('month', 'year')),
            n_sections  SMALLINT NOT NULL,
            method      VARCHAR,                  -- mean (< 5 sections) or shares
            class_num   TINYINT,                  -- mean method only
            share_I_III DOUBLE,                   -- [%] unrounded (优良水体率)
            share_I_II  DOUBLE,                   -- [%] Class II or better
            share_worse_V DOUBLE,                 -- [%] 劣V
            share_target DOUBLE,                  -- [%] sections meeting their target class
            status_num  TINYINT,
            main_pollutants JSON,                 -- items (shares) or per-section lists (mean)
            cwqi        DOUBLE,                   -- city: CWQI_city; river/basin: mean section CWQI
            cwqi_rank   SMALLINT,                 -- city rank (ascending CWQI, ties share)
            detail      JSON,                     -- counts, exceedance rates, M, N ...
            computed_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (scope, scope_id, period)
        );
        CREATE TABLE water_compensation (
            site_id     VARCHAR NOT NULL,
            period      VARCHAR NOT NULL,         -- month
            upstream_city INTEGER NOT NULL,
            downstream_city INTEGER NOT NULL,
            target_class VARCHAR NOT NULL,
            section_class VARCHAR,
            classes_better TINYINT NOT NULL,
            deduction_cny DOUBLE NOT NULL,
            award_cny   DOUBLE NOT NULL,
            payer       VARCHAR,                  -- city code, 'fund', NULL when nothing is due
            payee       VARCHAR,
            amount_cny  DOUBLE NOT NULL,
            inputs      JSON NOT NULL,            -- {factor: {value, limit, multiple}}
            rule_set    VARCHAR NOT NULL,
            rule_set_version VARCHAR NOT NULL,
            method      VARCHAR NOT NULL,
            computed_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (site_id, period, rule_set, rule_set_version)
        );
        CREATE TABLE water_settlements (
            period      VARCHAR NOT NULL,         -- month or year
            period_kind VARCHAR NOT NULL CHECK (period_kind IN ('month', 'year')),
            payer       VARCHAR NOT NULL,
            payee       VARCHAR NOT NULL,
            amount_cny  DOUBLE NOT NULL,          -- net
            gross_payer_to_payee DOUBLE NOT NULL,
            gross_payee_to_payer DOUBLE NOT NULL,
            n_sections  SMALLINT NOT NULL,
            rule_set    VARCHAR NOT NULL,
            rule_set_version VARCHAR NOT NULL,
            computed_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (period, payer, payee, rule_set, rule_set_version)
        );
        """,
    ),
    (
        7,
        "carbon: user factors, inventories, activity lines, emission lines, sinks",
        """
        -- Written only by ecobasin.store.carbon. Default factors ship in
        -- catalog/data/carbon/factors.csv; this table holds the ones users add (same columns).
        -- Amounts are exact decimals: DECIMAL(38, 9) tonnes; factor values keep their text.
        CREATE TABLE carbon_factors (
            id          VARCHAR PRIMARY KEY,
            factor_set  VARCHAR NOT NULL,
            activity    VARCHAR NOT NULL,         -- fuel id, electricity, heat, a process ...
            kind        VARCHAR NOT NULL,         -- ncv, carbon_content, oxidation, emission_factor, grid kinds
            gas         VARCHAR NOT NULL,         -- C, CO2, CH4, N2O, CO2e; '' for ncv/oxidation
            value       VARCHAR NOT NULL,         -- exact decimal text
            numerator_unit VARCHAR NOT NULL,
            denominator_unit VARCHAR NOT NULL,
            region      VARCHAR NOT NULL,
            sector      VARCHAR NOT NULL,
            valid_from  INTEGER,
            valid_to    INTEGER,
            publisher   VARCHAR NOT NULL,
            document    VARCHAR NOT NULL,
            table_ref   VARCHAR NOT NULL,
            confidence  VARCHAR NOT NULL,
            superseded_by VARCHAR NOT NULL,
            note        VARCHAR NOT NULL,
            added_by    VARCHAR NOT NULL,
            added_at    TIMESTAMPTZ NOT NULL
        );
        -- One inventory per city and year, with the choices it was computed with.
        CREATE TABLE carbon_inventories (
            inventory_id VARCHAR PRIMARY KEY,     -- '<city code>-<year>'
            city_code   INTEGER NOT NULL,
            year        INTEGER NOT NULL,
            gwp_set     VARCHAR NOT NULL,         -- SAR, AR4, AR5, AR6
            factor_set  VARCHAR NOT NULL,         -- cn-enterprise, ipcc-2006, a user set
            grid_kind   VARCHAR NOT NULL,
            grid_factor_id VARCHAR,               -- NULL: chosen by region and year on compute
            heat_factor_id VARCHAR NOT NULL,
            electricity_choice JSON,              -- the grid factor used and why (set on compute)
            gdp_10k_cny DECIMAL(38, 4),           -- GDP at constant prices [10^4 CNY]
            gdp_price_base INTEGER,               -- the constant-price base year
            source      VARCHAR NOT NULL,
            imported_at TIMESTAMPTZ NOT NULL,
            computed_at TIMESTAMPTZ,
            UNIQUE (city_code, year)
        );
        CREATE TABLE carbon_activity (
            inventory_id VARCHAR NOT NULL,
            line        INTEGER NOT NULL,         -- line of the imported file
            sector      VARCHAR NOT NULL,
            subsector   VARCHAR NOT NULL,
            activity    VARCHAR NOT NULL,
            amount      DECIMAL(38, 9) NOT NULL,
            unit        VARCHAR NOT NULL,
            resold      DECIMAL(38, 9) NOT NULL,
            scope       TINYINT,
            factor_ids  VARCHAR NOT NULL,         -- '|'-separated, '' = the inventory's choice
            enthalpy_kj_per_kg DECIMAL(18, 4),
            note        VARCHAR NOT NULL,
            PRIMARY KEY (inventory_id, line)
        );
        -- Computed per line and gas; replaced as a whole on each compute of an inventory.
        CREATE TABLE carbon_emissions (
            inventory_id VARCHAR NOT NULL,
            line        INTEGER NOT NULL,
            gas         VARCHAR NOT NULL,         -- CO2, CH4, N2O
            sector      VARCHAR NOT NULL,
            subsector   VARCHAR NOT NULL,
            gpc_ref     VARCHAR NOT NULL,         -- I.1 ... I.4.4, II, III, IV
            scope       TINYINT NOT NULL,
            activity    VARCHAR NOT NULL,
            amount_t    DECIMAL(38, 9) NOT NULL,  -- [t of gas]
            co2e_t      DECIMAL(38, 9) NOT NULL,  -- [t CO2e] with the inventory's GWP set
            energy_tj   DECIMAL(38, 9),
            factor_ids  JSON NOT NULL,            -- the factors used, in order
            formula     VARCHAR NOT NULL,
            notation    VARCHAR NOT NULL,         -- '' or NE (not estimated)
            basic       BOOLEAN NOT NULL,         -- counted in the GPC BASIC total
            computed_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (inventory_id, line, gas)
        );
        CREATE TABLE carbon_sinks (
            city_code   INTEGER NOT NULL,
            year        INTEGER NOT NULL,
            sink_id     VARCHAR NOT NULL,         -- forest, greenways, wetland ...
            method      VARCHAR NOT NULL,         -- stock_difference, gain_loss, area_rate
            inputs      JSON NOT NULL,            -- volumes, areas, parameters and their sources
            delta_c_t   DECIMAL(38, 9),           -- [t C/a]
            removal_tco2 DECIMAL(38, 9) NOT NULL, -- [t CO2/a], positive = removal
            formula     VARCHAR NOT NULL,
            source      VARCHAR NOT NULL,
            computed_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (city_code, year, sink_id)
        );
        """,
    ),
    (
        8,
        "forecasts: saved models, forecasts with forecasters' adjustments, warnings",
        """
        -- Written only by ecobasin.store.forecast. Days are China Standard Time calendar days.
        CREATE TABLE forecast_models (
            name        VARCHAR PRIMARY KEY,      -- loaded by name (ecobasin forecast run --model)
            format      INTEGER NOT NULL,         -- saved-model layout version
            created_at  TIMESTAMPTZ NOT NULL,
            metadata    JSON NOT NULL,            -- training span, cities, features, config, scores
            payload     VARCHAR NOT NULL          -- JSON: file name -> text (LightGBM model texts)
        );
        CREATE TABLE forecasts (
            issue_day   DATE NOT NULL,            -- the forecast uses data up to this day
            issued_at   TIMESTAMPTZ NOT NULL,
            scope       VARCHAR NOT NULL CHECK (scope IN ('city', 'site')),
            scope_id    VARCHAR NOT NULL,         -- city code as text, or site id
            target_day  DATE NOT NULL,
            lead        SMALLINT NOT NULL,        -- target_day - issue_day [days]
            model       VARCHAR NOT NULL,         -- lightgbm:<name>, persistence, climatology
            parameter   VARCHAR NOT NULL,         -- PM2.5, PM10, O3_8h, NO2, SO2, CO, AQI
            value       DOUBLE,                   -- [ug/m3] (CO mg/m3); AQI: the central AQI
            lower       DOUBLE,                   -- predictive range (model quantiles)
            upper       DOUBLE,
            level       TINYINT,                  -- AQI rows: HJ 633 level 1..6
            primary_pollutant VARCHAR,            -- AQI rows: 'PM2.5', 'PM2.5,PM10'; '' AQI <= 50
            rule_set    VARCHAR,                  -- HJ633-2012 / HJ633-2026 (by target day)
            with_meteorology BOOLEAN NOT NULL,
            author      VARCHAR NOT NULL,         -- who ran the model
            adjusted_value DOUBLE,                -- a forecaster's adjustment, kept beside
            adjusted_lower DOUBLE,
            adjusted_upper DOUBLE,
            adjusted_level TINYINT,
            adjusted_primary VARCHAR,
            adjusted_by VARCHAR,
            adjusted_at TIMESTAMPTZ,
            adjust_reason VARCHAR,
            PRIMARY KEY (issue_day, scope, scope_id, target_day, model, parameter)
        );
        CREATE SEQUENCE warning_ids START 1;
        CREATE TABLE warnings (
            warning_id  INTEGER PRIMARY KEY DEFAULT nextval('warning_ids'),
            scope       VARCHAR NOT NULL CHECK (scope IN ('city', 'region')),
            scope_id    VARCHAR NOT NULL,         -- city code as text, or region id
            issue_day   DATE NOT NULL,
            issued_at   TIMESTAMPTZ NOT NULL,
            model       VARCHAR NOT NULL,         -- the forecast it was decided from
            rule        VARCHAR NOT NULL,         -- HBDQH-2019-648, regional rule
            level       VARCHAR NOT NULL CHECK (level IN ('yellow', 'orange', 'red')),
            start_time  TIMESTAMPTZ NOT NULL,     -- UTC instant the first warned day begins
            end_time    TIMESTAMPTZ NOT NULL,     -- UTC instant the last warned day ends
            basis       JSON NOT NULL,            -- days and forecast AQI values, cities
            reason_zh   VARCHAR NOT NULL,
            reason_en   VARCHAR NOT NULL,
            author      VARCHAR NOT NULL,
            UNIQUE (scope, scope_id, issue_day, model)
        );
        """,
    ),
    (
        9,
        "carbon-inclusive ledger: accounts, rule sets, hash-chained entries, projects, issuance",
        """
        -- Written only by ecobasin.store.ledger, which appends entries and never updates or
        -- deletes them; `ecobasin ledger verify` recomputes the hash chain (carbon.ledger).
        CREATE TABLE ledger_accounts (
            account_id  VARCHAR PRIMARY KEY,
            kind        VARCHAR NOT NULL CHECK (kind IN (
                            'person', 'organisation', 'merchant', 'project', 'pool')),
            name        VARCHAR NOT NULL,
            city_code   INTEGER,
            created_at  TIMESTAMPTZ NOT NULL
        );
        -- Every rule set version used, frozen with the hash of its canonical JSON.
        CREATE TABLE ledger_rule_sets (
            rule_set    VARCHAR NOT NULL,
            version     VARCHAR NOT NULL,
            valid_from  DATE NOT NULL,
            content     JSON NOT NULL,
            sha256      VARCHAR NOT NULL,
            loaded_at   TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (rule_set, version)
        );
        CREATE TABLE ledger_entries (
            seq         BIGINT PRIMARY KEY,       -- 1, 2, 3 … without gaps
            prev_hash   VARCHAR NOT NULL,         -- hash of entry seq - 1 (64 zeros for seq 1)
            hash        VARCHAR NOT NULL,         -- SHA-256 of the canonical JSON of the rest
            kind        VARCHAR NOT NULL CHECK (kind IN (
                            'earn', 'redeem', 'donate', 'expire', 'issue', 'retire')),
            account     VARCHAR NOT NULL,
            counterparty VARCHAR NOT NULL,        -- receiver of a donation, merchant; '' else
            points      DECIMAL(18, 3) NOT NULL,  -- magnitude [points]; the kind gives the sign
            grams       DECIMAL(24, 3) NOT NULL,  -- magnitude [g CO2e]
            rule_set    VARCHAR NOT NULL,
            rule_version VARCHAR NOT NULL,
            behaviour   VARCHAR NOT NULL,
            evidence_source VARCHAR NOT NULL,
            evidence_ref VARCHAR NOT NULL,
            idem_key    VARCHAR NOT NULL UNIQUE,  -- event id, request key, issue:<project>:<period>
            dedupe_key  VARCHAR NOT NULL,         -- account|behaviour|day of once-a-day behaviours
            occurred_at TIMESTAMPTZ NOT NULL,
            recorded_at TIMESTAMPTZ NOT NULL,
            detail      VARCHAR NOT NULL          -- JSON text: quantity, formula, cap …
        );
        -- The last entry (seq, hash), moved in the same transaction as each append.
        CREATE TABLE ledger_head (
            id          TINYINT PRIMARY KEY CHECK (id = 1),
            seq         BIGINT NOT NULL,
            hash        VARCHAR NOT NULL,
            updated_at  TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE ledger_projects (
            project_id  VARCHAR PRIMARY KEY,
            name        VARCHAR NOT NULL,
            methodology VARCHAR NOT NULL,
            owner       VARCHAR NOT NULL,         -- account credited on issuance
            city_code   INTEGER,
            ef_grid     DECIMAL(18, 6),           -- registered grid factor [t CO2/MWh], if any
            registered_at TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE ledger_monitoring (
            project_id  VARCHAR NOT NULL,
            period_id   VARCHAR NOT NULL,         -- 2024H1, 2024 …
            period_start DATE NOT NULL,
            period_end  DATE NOT NULL,
            inputs      JSON NOT NULL,
            baseline_t  DECIMAL(24, 6) NOT NULL,  -- BE [t CO2e]
            project_t   DECIMAL(24, 6) NOT NULL,  -- PE
            leakage_t   DECIMAL(24, 6) NOT NULL,  -- LE
            reduction_t DECIMAL(24, 6) NOT NULL,  -- ER = BE - PE - LE
            formula     VARCHAR NOT NULL,
            verified_by VARCHAR,                  -- third-party verifier; NULL = not verified
            verified_at TIMESTAMPTZ,
            recorded_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (project_id, period_id)
        );
        CREATE TABLE ledger_issuances (
            project_id  VARCHAR NOT NULL,
            period_id   VARCHAR NOT NULL,
            seq         BIGINT NOT NULL,          -- the issue entry
            tonnes      DECIMAL(24, 6) NOT NULL,
            issued_at   TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (project_id, period_id)
        );
        """,
    ),
    (
        10,
        "partners: role partner with scopes and a rate limit per partner (ledger API)",
        """
        -- The users table again, its role check now with 'partner' (DuckDB cannot alter a
        -- CHECK constraint): same columns, rows and id sequence.
        CREATE TABLE users_v10 (
            user_id     INTEGER PRIMARY KEY DEFAULT nextval('user_ids'),
            name        VARCHAR NOT NULL UNIQUE,
            role        VARCHAR NOT NULL CHECK (role IN ('admin', 'editor', 'viewer', 'partner')),
            city_code   INTEGER,                  -- editors: the one city they write
            password_hash VARCHAR NOT NULL,       -- Argon2id PHC string
            disabled    BOOLEAN NOT NULL DEFAULT false,
            created_at  TIMESTAMPTZ NOT NULL,
            CHECK ((role = 'editor') = (city_code IS NOT NULL))
        );
        INSERT INTO users_v10 SELECT * FROM users;
        DROP TABLE users;
        ALTER TABLE users_v10 RENAME TO users;
        -- Written only by ecobasin.store.users. One row per partner user: what its tokens may
        -- do on the ledger API and how often (token bucket: rate per minute, burst).
        CREATE TABLE partners (
            user_id     INTEGER PRIMARY KEY,
            scopes      VARCHAR[] NOT NULL,       -- ledger:events, ledger:redeem
            rate_per_minute DOUBLE NOT NULL CHECK (rate_per_minute > 0),
            burst       INTEGER NOT NULL CHECK (burst >= 1),
            created_at  TIMESTAMPTZ NOT NULL
        );
        """,
    ),
    (
        11,
        "meteorological forecasts per city and valid day, with the instant they were issued",
        """
        -- Written only by ecobasin.store.met_forecast (`ecobasin import met-forecast`). A
        -- forecast issued on day D reads only rows with issued_at <= D's issue time: the
        -- latest such issue for each valid day (ecobasin.forecast.features.met_as_known).
        CREATE TABLE met_forecasts (
            city_code   INTEGER NOT NULL,
            issued_at   TIMESTAMPTZ NOT NULL,     -- UTC instant the forecast was issued
            day         DATE NOT NULL,            -- valid day, China Standard Time (01:00-24:00)
            variable    VARCHAR NOT NULL,         -- temperature, humidity, wind_speed, blh ...
            value       DOUBLE NOT NULL,          -- in unit (the registry's unit of variable)
            unit        VARCHAR NOT NULL,
            source      VARCHAR NOT NULL,         -- file it came from
            ingested_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (city_code, issued_at, day, variable)
        );
        """,
    ),
    (
        12,
        "ledger: partner and consent of entries, holder keys, redemption consents, partner "
        "accounts and ceilings, pool administrators",
        """
        -- Written only by ecobasin.store.ledger (issue 13). Who moved the points, inside the
        -- hash chain: entries before this migration have neither, and their hashed text leaves
        -- both out (carbon.ledger.canonical), so their hashes are unchanged.
        ALTER TABLE ledger_entries ADD COLUMN partner VARCHAR DEFAULT '';
        ALTER TABLE ledger_entries ADD COLUMN consent VARCHAR DEFAULT '';
        -- An account holder's key (its SHA-256; the key is shown once): the holder's app
        -- creates redemption consents with it.
        CREATE TABLE ledger_holder_keys (
            account_id  VARCHAR PRIMARY KEY,
            key_sha256  VARCHAR NOT NULL UNIQUE,
            created_at  TIMESTAMPTZ NOT NULL
        );
        -- A holder's consent to one redemption or donation: short-lived, single use, at most
        -- max_points and max_grams, to one merchant or receiver if named. The code is given
        -- to the merchant once (its SHA-256 kept).
        CREATE TABLE ledger_consents (
            consent_id  VARCHAR PRIMARY KEY,
            account_id  VARCHAR NOT NULL,
            code_sha256 VARCHAR NOT NULL UNIQUE,
            merchant    VARCHAR NOT NULL,         -- merchant or receiver; '' = any
            max_points  DECIMAL(18, 3) NOT NULL,
            max_grams   DECIMAL(24, 3) NOT NULL,  -- [g CO2e] a donation may give
            created_at  TIMESTAMPTZ NOT NULL,
            expires_at  TIMESTAMPTZ NOT NULL,
            used_seq    BIGINT,                   -- the redeem entry that spent it
            used_by     VARCHAR,                  -- the partner (or admin) that spent it
            used_at     TIMESTAMPTZ
        );
        -- The merchant accounts a partner credits (a merchant partner redeems into these only).
        CREATE TABLE ledger_partner_accounts (
            partner     VARCHAR NOT NULL,         -- users.name of a partner
            account_id  VARCHAR NOT NULL,
            created_at  TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (partner, account_id)
        );
        -- A partner's ceiling of points credited per China Standard Time day (else the default).
        CREATE TABLE ledger_partner_limits (
            partner     VARCHAR PRIMARY KEY,
            daily_points DECIMAL(18, 3) NOT NULL CHECK (daily_points >= 0),
            updated_at  TIMESTAMPTZ NOT NULL
        );
        -- Who may debit a pool (donation pool) account: its administrators (users.name).
        CREATE TABLE ledger_pool_admins (
            account_id  VARCHAR NOT NULL,
            user_name   VARCHAR NOT NULL,
            created_at  TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (account_id, user_name)
        );
        """,
    ),
    (
        13,
        "sessions kept as hashes: session ids as SHA-256, no CSRF tokens, no signing key",
        """
        -- Issue 13 item 9: a copy of the file must hold nothing that signs in. Session ids are
        -- kept as the hex SHA-256 of the id in the cookie; CSRF tokens are derived from the
        -- session (HMAC with the signing key) and no longer stored; the signing key moves to
        -- a 0600 file beside the database (ecobasin.store.keyfile). Sessions opened before
        -- end: their cookies were signed with the old key, which may have been copied.
        ALTER TABLE sessions ALTER COLUMN csrf_token DROP NOT NULL;
        UPDATE sessions SET revoked_at = coalesce(revoked_at, now()), csrf_token = NULL,
            session_id = sha256(session_id);
        DELETE FROM secrets WHERE name = 'session_key';
        """,
    ),
    (
        14,
        "AQI pending: station-days stored by an import whose AQI is still to be computed",
        """
        -- Written only by ecobasin.store.aqi_pending: an import marks the (site, CST day) pairs
        -- it stored in the same transaction as the observations; the AQI refresh deletes the
        -- marks it computed. A mark left behind (an import killed before its AQI refresh) is
        -- computed by the next import, `ecobasin serve` or any write command.
        CREATE TABLE aqi_pending (
            site_id     VARCHAR NOT NULL,
            day         DATE NOT NULL,            -- China Standard Time calendar day
            PRIMARY KEY (site_id, day)
        );
        """,
    ),
    (
        15,
        "noise (issue 23): noise site kinds, functional-zone polygons, survey results",
        """
        -- Sites get the noise kinds of the noise brief §4.4: automatic stations (HJ 906-2017),
        -- manual zone points, survey grid squares and road segments. DuckDB cannot alter a
        -- CHECK constraint, so the table is rebuilt with its keys (no foreign key points at it).
        CREATE TABLE sites_noise (
            site_id     VARCHAR PRIMARY KEY,
            kind        VARCHAR NOT NULL CHECK (kind IN (
                            'air_station', 'micro_station', 'water_section',
                            'gas_outlet', 'water_outlet',
                            'noise_station', 'noise_point', 'noise_grid', 'road_segment')),
            level       VARCHAR NOT NULL DEFAULT 'national' CHECK (level IN (
                            'national', 'provincial', 'city', 'enterprise', 'other')),
            city_code   INTEGER NOT NULL,
            name_zh     VARCHAR,
            name_en     VARCHAR,
            lon         DOUBLE,
            lat         DOUBLE,
            attributes  JSON,
            source      VARCHAR,
            updated_at  TIMESTAMPTZ NOT NULL,
            site_key    INTEGER NOT NULL UNIQUE DEFAULT nextval('site_keys')
        );
        INSERT INTO sites_noise
            SELECT site_id, kind, level, city_code, name_zh, name_en, lon, lat, attributes,
                   source, updated_at, site_key FROM sites;
        DROP TABLE sites;
        ALTER TABLE sites_noise RENAME TO sites;
        -- GB 3096-2008 functional zones (声环境功能区划) per city, as GeoJSON polygons; a
        -- zoning plan is revised, so each zone carries its validity.
        CREATE TABLE noise_zones (
            zone_id     VARCHAR PRIMARY KEY,
            city_code   INTEGER NOT NULL,
            zone_class  VARCHAR NOT NULL CHECK (zone_class IN ('0', '1', '2', '3', '4a', '4b')),
            name_zh     VARCHAR,
            name_en     VARCHAR,
            geometry    JSON NOT NULL,            -- GeoJSON Polygon or MultiPolygon, WGS-84
            valid_from  DATE,
            valid_to    DATE,
            source      VARCHAR NOT NULL,         -- zoning document or 'illustrative'
            updated_at  TIMESTAMPTZ NOT NULL
        );
        -- HJ 640-2012 manual survey results, one row per grid square or road segment and
        -- period (ecobasin.store.noise imports them; bad rows go to `rejected`).
        CREATE TABLE noise_surveys (
            survey      VARCHAR NOT NULL CHECK (survey IN ('regional', 'traffic')),
            year        INTEGER NOT NULL,
            period      VARCHAR NOT NULL CHECK (period IN ('day', 'night')),
            point_id    VARCHAR NOT NULL,         -- grid_id or segment_id
            city_code   INTEGER NOT NULL,
            valid       BOOLEAN NOT NULL,
            leq         DOUBLE NOT NULL,          -- [dB(A)]
            l10         DOUBLE,
            l50         DOUBLE,
            l90         DOUBLE,
            lmax        DOUBLE,
            length_km   DOUBLE,                   -- road segments only [km]
            road_name   VARCHAR,
            main_source VARCHAR,
            batch_id    INTEGER NOT NULL,
            PRIMARY KEY (survey, year, period, point_id)
        );
        """,
    ),
    (
        16,
        "emergency control lists: versions, activations, verdicts with their evidence, findings",
        """
        -- Issue 17 (emergency.md §1.5, §2.5). A list version is immutable once stored; its
        -- records (enterprises, outlets, measures, grade histories) are one JSON document.
        CREATE TABLE emergency_list_versions (
            city_code      INTEGER NOT NULL,
            version        INTEGER NOT NULL,
            effective_from TIMESTAMPTZ NOT NULL,
            reason         VARCHAR NOT NULL,      -- annual, new X, closed X, regraded X ...
            records        JSON NOT NULL,
            created_by     VARCHAR NOT NULL,
            created_at     TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (city_code, version)
        );
        CREATE TABLE emergency_activations (
            activation_id  VARCHAR PRIMARY KEY,   -- city-level-start, e.g. 510100-yellow-2025-01-02T00
            city_code      INTEGER NOT NULL,
            level          VARCHAR NOT NULL CHECK (level IN ('yellow', 'orange', 'red')),
            start_time     TIMESTAMPTZ NOT NULL,
            end_time       TIMESTAMPTZ NOT NULL,
            list_version   INTEGER NOT NULL,
            grades         JSON NOT NULL,         -- USCC -> grade frozen at the warning start
            state          VARCHAR NOT NULL CHECK (state IN ('active', 'ended', 'checked', 'cancelled')),
            source         VARCHAR NOT NULL,      -- forecast warning, joint consultation ...
            updated_at     TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE emergency_verdicts (
            activation_id  VARCHAR NOT NULL,
            uscc           VARCHAR NOT NULL,
            outlet         VARCHAR NOT NULL,      -- HJ 212 MN / site_id
            pollutant      VARCHAR NOT NULL,
            verdict        VARCHAR NOT NULL CHECK (verdict IN (
                               'compliant', 'non_compliant', 'insufficient_data', 'exempt')),
            valid_hours    INTEGER NOT NULL,
            baseline_kg_h  DOUBLE,                -- [kg/h]
            baseline_flow  DOUBLE,                -- [m³/h]
            baseline_method VARCHAR,              -- online_data, permit, inventory
            baseline_days  JSON,                  -- reference days used and left out
            measure        JSON NOT NULL,         -- the measure text and numbers applied
            numbers        JSON NOT NULL,         -- baseline_kg, actual_kg, achieved ...
            reasons        JSON NOT NULL,
            flagged_hours  JSON NOT NULL,         -- flag -> hours (F, M, D, C ...)
            list_version   INTEGER NOT NULL,
            thresholds     VARCHAR NOT NULL,      -- compliance.toml version
            computed_at    TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (activation_id, uscc, outlet, pollutant)
        );
        CREATE TABLE emergency_findings (
            activation_id  VARCHAR NOT NULL,
            uscc           VARCHAR NOT NULL,
            outlet         VARCHAR NOT NULL,
            kind           VARCHAR NOT NULL,      -- non_compliant, insufficient_data
            owner          VARCHAR NOT NULL,      -- district bureau, else city
            status         VARCHAR NOT NULL DEFAULT 'open',
            reasons        JSON NOT NULL,
            opened_at      TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (activation_id, uscc, outlet, kind)
        );
        """,
    ),
    (
        17,
        "joint forecast consultation: session versions, their audit trail, chair hand-overs, "
        "consultation roles, issued reports",
        """
        -- Written only by ecobasin.store.consultation (issue 16). Each row is one version of a
        -- session as the pure state machine (ecobasin.workflow.consultation) left it; an issued
        -- version is never rewritten: an amendment adds version + 1 and marks the old one
        -- superseded (the store refuses any other change to an issued row).
        CREATE TABLE consultation_sessions (
            session_id  VARCHAR NOT NULL,
            version     INTEGER NOT NULL,
            state       VARCHAR NOT NULL,
            kind        VARCHAR NOT NULL,
            session_date DATE NOT NULL,           -- China Standard Time
            chair_city  INTEGER NOT NULL,
            body        JSON NOT NULL,            -- the whole session (submissions, consensus ...)
            updated_at  TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (session_id, version)
        );
        -- Every transition: who, when, why (append-only).
        CREATE TABLE consultation_audit (
            session_id  VARCHAR NOT NULL,
            version     INTEGER NOT NULL,
            seq         INTEGER NOT NULL,
            event       VARCHAR NOT NULL,
            actor       VARCHAR NOT NULL,
            acted_at    TIMESTAMPTZ NOT NULL,
            reason      VARCHAR NOT NULL,
            state_before VARCHAR NOT NULL,
            state_after VARCHAR NOT NULL,
            PRIMARY KEY (session_id, version, seq)
        );
        -- A recorded hand-over of the chair from the rota's city (province coordinator).
        CREATE TABLE consultation_handovers (
            day         DATE PRIMARY KEY,         -- from this day to the end of its month
            city_code   INTEGER NOT NULL,
            reason      VARCHAR NOT NULL,
            actor       VARCHAR NOT NULL,
            recorded_at TIMESTAMPTZ NOT NULL
        );
        -- Consultation roles on top of the city rights (web/security/policy.py): city_code 0
        -- for the province and institutes. The chair is no row: it follows the rota.
        CREATE TABLE consultation_roles (
            user_name   VARCHAR NOT NULL,
            role        VARCHAR NOT NULL CHECK (role IN ('province_coordinator',
                            'city_forecaster', 'city_approver', 'expert', 'observer')),
            city_code   INTEGER NOT NULL DEFAULT 0,
            granted_by  VARCHAR NOT NULL,
            granted_at  TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (user_name, role, city_code)
        );
        -- Each city's own warning decision on the recommendation of an issued session: lower
        -- or later than recommended only with the override reason, which is shown.
        CREATE TABLE consultation_city_decisions (
            session_id  VARCHAR NOT NULL,
            version     INTEGER NOT NULL,
            city_code   INTEGER NOT NULL,
            recommended VARCHAR NOT NULL,
            recommended_start TIMESTAMPTZ NOT NULL,
            level       VARCHAR NOT NULL,
            start_at    TIMESTAMPTZ NOT NULL,
            override_reason VARCHAR NOT NULL,
            actor       VARCHAR NOT NULL,
            decided_at  TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (session_id, version, city_code, decided_at)
        );
        -- Rendered reports, immutable, addressed by the SHA-256 of their bytes.
        CREATE TABLE consultation_reports (
            sha256      VARCHAR PRIMARY KEY,
            session_id  VARCHAR NOT NULL,
            version     INTEGER NOT NULL,
            template    VARCHAR NOT NULL,         -- opinion, minutes, letter, public
            lang        VARCHAR NOT NULL,         -- zh, en
            media_type  VARCHAR NOT NULL,
            content     BLOB NOT NULL,
            created_at  TIMESTAMPTZ NOT NULL
        );
        """,
    ),
    (
        18,
        "noise products and complaints (issue 23): noise_daily, noise_rates, noise_complaints",
        """
        -- GB 3096-2008 verdicts per noise station and CST day, stored by the refresh after
        -- gateway and import batches (ecobasin.jobs.noise_quality) instead of per request.
        CREATE TABLE noise_daily (
            site_id     VARCHAR NOT NULL,
            day         DATE NOT NULL,            -- CST day, hour-ending labels 01:00-24:00
            city_code   INTEGER NOT NULL,
            zone_class  VARCHAR NOT NULL,
            ld          DOUBLE,                   -- [dB(A)], 0.1 dB; NULL: too few day hours
            ln          DOUBLE,
            night_lmax  DOUBLE,
            day_pass    BOOLEAN,
            night_pass  BOOLEAN,
            computed_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (site_id, day)
        );
        -- Functional-zone compliance per city and month (station-days), from noise_daily.
        CREATE TABLE noise_rates (
            city_code       INTEGER NOT NULL,
            month           VARCHAR NOT NULL,     -- 2026-07
            stations        INTEGER NOT NULL,
            day_valid       INTEGER NOT NULL,
            day_compliant   INTEGER NOT NULL,
            night_valid     INTEGER NOT NULL,
            night_compliant INTEGER NOT NULL,
            computed_at     TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (city_code, month)
        );
        -- Noise complaints (2022 Noise Pollution Prevention Law); a complaint near a
        -- construction or industrial source with a measurement nearby is a case candidate.
        CREATE TABLE noise_complaints (
            complaint_id   VARCHAR PRIMARY KEY,
            time           TIMESTAMPTZ NOT NULL,
            city_code      INTEGER NOT NULL,
            lon            DOUBLE NOT NULL,
            lat            DOUBLE NOT NULL,
            source_type    VARCHAR NOT NULL CHECK (source_type IN (
                               'social_life', 'construction', 'industry', 'traffic')),
            description    VARCHAR,
            zone_id        VARCHAR,               -- functional zone containing the point
            zone_class     VARCHAR,
            nearest_site   VARCHAR,               -- nearest noise site
            distance_m     DOUBLE,                -- [m]
            measurement    JSON,                  -- nearest station's hour at the complaint
            case_candidate BOOLEAN NOT NULL,
            batch_id       INTEGER NOT NULL
        );
        """,
    ),
    (
        19,
        "river incidents (issue 22): river network, incidents, forecasts, notices, monitoring, materials",
        """
        -- The river network (brief incidents.md §3): nodes and reaches per network name; a new
        -- import replaces a network whole. Hydraulics as given (velocity, or Q with the section).
        CREATE TABLE river_nodes (
            network      VARCHAR NOT NULL,
            node_id      VARCHAR NOT NULL,
            kind         VARCHAR NOT NULL,
            name_zh      VARCHAR, name_en VARCHAR, river VARCHAR,
            city_code    VARCHAR,                  -- GB/T 2260, also outside the region
            lon DOUBLE, lat DOUBLE,
            intake_level VARCHAR,                  -- township / county_city / prefecture_city
            population   BIGINT,
            PRIMARY KEY (network, node_id)
        );
        CREATE TABLE river_reaches (
            network   VARCHAR NOT NULL,
            reach_id  VARCHAR NOT NULL,
            from_node VARCHAR NOT NULL, to_node VARCHAR NOT NULL, river VARCHAR,
            length_km DOUBLE NOT NULL,
            u_m_s DOUBLE, Q_m3_s DOUBLE, A_m2 DOUBLE, width_m DOUBLE, depth_m DOUBLE,
            slope DOUBLE, manning_n DOUBLE, D_m2_s DOUBLE,
            analytic_ok BOOLEAN NOT NULL DEFAULT TRUE,
            PRIMARY KEY (network, reach_id)
        );
        -- Rows refused by a network import, each with its reason (never dropped silently).
        CREATE TABLE river_rejects (
            network VARCHAR NOT NULL, imported_at TIMESTAMPTZ NOT NULL,
            tbl VARCHAR NOT NULL, row_id VARCHAR, reason VARCHAR NOT NULL
        );
        -- An incident: where, what, when (occurrence, discovery, preliminary determination:
        -- the reporting clock starts at the last), its grade with the rule and the row that decided.
        CREATE TABLE incidents (
            incident_id    VARCHAR PRIMARY KEY,
            title          VARCHAR NOT NULL,
            network        VARCHAR NOT NULL,
            node_id        VARCHAR NOT NULL,
            city_code      VARCHAR NOT NULL,
            substance      VARCHAR NOT NULL,
            threshold_mg_L DOUBLE NOT NULL,
            release        JSON NOT NULL,
            facts          JSON NOT NULL,
            occurred_at    TIMESTAMPTZ NOT NULL,
            discovered_at  TIMESTAMPTZ NOT NULL,
            determined_at  TIMESTAMPTZ NOT NULL,
            grade          VARCHAR NOT NULL,
            grade_rule     VARCHAR NOT NULL,
            grade_triggers JSON NOT NULL,
            status         VARCHAR NOT NULL CHECK (status IN ('open', 'monitoring', 'closed')),
            drill          BOOLEAN NOT NULL DEFAULT FALSE,
            created_by     VARCHAR NOT NULL,
            created_at     TIMESTAMPTZ NOT NULL
        );
        -- Every forecast run of an incident (the first, and each refit), never overwritten.
        CREATE TABLE incident_forecasts (
            incident_id VARCHAR NOT NULL,
            run         INTEGER NOT NULL,
            created_at  TIMESTAMPTZ NOT NULL,
            params      JSON NOT NULL,            -- release, factors of a refit, the band
            result      JSON NOT NULL,            -- the per-node table
            PRIMARY KEY (incident_id, run)
        );
        -- Notices with their deadline and rule; sending, acknowledging and escalating are
        -- recorded by the server clock; the content is kept as sent.
        CREATE SEQUENCE incident_notice_ids START 1;
        CREATE TABLE incident_notices (
            notice_id    INTEGER PRIMARY KEY DEFAULT nextval('incident_notice_ids'),
            incident_id  VARCHAR NOT NULL,
            kind         VARCHAR NOT NULL,        -- initial, cross_boundary, followup
            to_org       VARCHAR NOT NULL,
            to_city      VARCHAR,
            external     BOOLEAN NOT NULL,
            deadline     TIMESTAMPTZ NOT NULL,
            rule         VARCHAR NOT NULL,
            reason       VARCHAR NOT NULL,
            content      VARCHAR NOT NULL,
            sent_at      TIMESTAMPTZ,
            channels     VARCHAR,                 -- in-app, e-mail
            acked_at     TIMESTAMPTZ,
            acked_by     VARCHAR,
            escalated_at TIMESTAMPTZ,
            escalated_to VARCHAR
        );
        -- The incident's timeline and audit (append-only): who did what, when.
        CREATE TABLE incident_events (
            incident_id VARCHAR NOT NULL,
            event_at    TIMESTAMPTZ NOT NULL,
            actor       VARCHAR NOT NULL,
            event       VARCHAR NOT NULL,
            details     JSON
        );
        -- The joint monitoring plan (HJ 589-2021 practice): points, windows, approvals by the
        -- cities involved, and the results entered or imported.
        CREATE TABLE incident_monitoring_points (
            incident_id VARCHAR NOT NULL, version INTEGER NOT NULL, node_id VARCHAR NOT NULL,
            role VARCHAR NOT NULL, responsible_city VARCHAR NOT NULL,
            window_from_h DOUBLE, window_to_h DOUBLE, frequency VARCHAR NOT NULL,
            PRIMARY KEY (incident_id, version, node_id)
        );
        CREATE TABLE incident_plan_approvals (
            incident_id VARCHAR NOT NULL, version INTEGER NOT NULL, city_code VARCHAR NOT NULL,
            approved_by VARCHAR NOT NULL, approved_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (incident_id, version, city_code)
        );
        CREATE TABLE incident_samples (
            incident_id VARCHAR NOT NULL, node_id VARCHAR NOT NULL,
            sampled_at  TIMESTAMPTZ NOT NULL, value_mg_L DOUBLE NOT NULL,
            method      VARCHAR NOT NULL,         -- auto, field, lab
            city_code   VARCHAR NOT NULL, reported_by VARCHAR NOT NULL,
            reported_at TIMESTAMPTZ NOT NULL
        );
        -- Emergency materials: stock per depot and item, requests and dispatch between cities.
        CREATE TABLE material_stocks (
            depot_id VARCHAR NOT NULL, city_code VARCHAR NOT NULL, depot_name VARCHAR NOT NULL,
            item VARCHAR NOT NULL, quantity DOUBLE NOT NULL, unit VARCHAR NOT NULL,
            expires_on DATE, updated_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (depot_id, item)
        );
        CREATE SEQUENCE material_request_ids START 1;
        CREATE TABLE material_requests (
            request_id INTEGER PRIMARY KEY DEFAULT nextval('material_request_ids'),
            incident_id VARCHAR NOT NULL, from_city VARCHAR NOT NULL, to_city VARCHAR NOT NULL,
            item VARCHAR NOT NULL, quantity DOUBLE NOT NULL, unit VARCHAR NOT NULL,
            requested_at TIMESTAMPTZ NOT NULL, requested_by VARCHAR NOT NULL,
            dispatched_at TIMESTAMPTZ, dispatched_by VARCHAR
        );
        """,
    ),
    (
        20,
        "consultation action items of the monthly minutes (issue 16, template B)",
        """
        -- Written only by ecobasin.store.consultation. A decision of the monthly minutes
        -- (会议议定事项) becomes a tracked item with an owner city and a due date; closing it
        -- keeps who, when and the note beside it (never deleted).
        CREATE TABLE consultation_actions (
            action_id   VARCHAR PRIMARY KEY,      -- <session_id>#<n>
            session_id  VARCHAR NOT NULL,
            item_no     INTEGER NOT NULL,
            text        VARCHAR NOT NULL,
            owner_city  INTEGER NOT NULL,
            due         DATE NOT NULL,
            state       VARCHAR NOT NULL CHECK (state IN ('open', 'closed')),
            created_by  VARCHAR NOT NULL,
            created_at  TIMESTAMPTZ NOT NULL,
            closed_by   VARCHAR,
            closed_at   TIMESTAMPTZ,
            close_note  VARCHAR
        );
        """,
    ),
    (
        21,
        "consultation warning proposal steps (issue 16): proposed, recommended, acknowledged, lifted",
        """
        -- Written only by ecobasin.store.consultation. Append-only: one row per step of the
        -- warning proposal of an issued session (ecobasin.workflow.consultation_warning), the
        -- whole proposal after the step as JSON; the latest row is the proposal in force.
        CREATE TABLE consultation_warning_steps (
            session_id  VARCHAR NOT NULL,
            seq         INTEGER NOT NULL,
            event       VARCHAR NOT NULL,
            state       VARCHAR NOT NULL,
            body        JSON NOT NULL,
            actor       VARCHAR NOT NULL,
            stepped_at  TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (session_id, seq)
        );
        """,
    ),
    (
        22,
        "consultation notifications (issue 16): in-app items per participant, e-mail addresses",
        """
        -- Written only by ecobasin.store.consultation. One row per recipient; read_at set when
        -- the user marks it read; mailed_at when the e-mail went out (NULL: pending or no
        -- address), mail_error the last failure (retried on the next delivery).
        CREATE SEQUENCE consultation_notice_ids START 1;
        CREATE TABLE consultation_notifications (
            notice_id   INTEGER PRIMARY KEY DEFAULT nextval('consultation_notice_ids'),
            user_name   VARCHAR NOT NULL,
            session_id  VARCHAR NOT NULL,
            kind        VARCHAR NOT NULL,
            title_zh    VARCHAR NOT NULL,
            title_en    VARCHAR NOT NULL,
            created_at  TIMESTAMPTZ NOT NULL,
            read_at     TIMESTAMPTZ,
            mailed_at   TIMESTAMPTZ,
            mail_error  VARCHAR
        );
        CREATE TABLE consultation_contacts (
            user_name   VARCHAR PRIMARY KEY,
            email       VARCHAR NOT NULL
        );
        """,
    ),
    (
        23,
        "demo parts built (issue 15): a re-run of `ecobasin demo` keeps what is there",
        """
        -- One row per part of the generated demo (air, forecast, water, carbon, noise,
        -- emergency, consultation) once it is complete: a re-run keeps it, so an editor's
        -- invalidations and corrections are not overwritten by freshly generated values.
        CREATE TABLE demo_parts (
            part      VARCHAR PRIMARY KEY,
            year      INTEGER NOT NULL,
            seed      INTEGER NOT NULL,
            built_at  TIMESTAMPTZ NOT NULL
        );
        """,
    ),
    (
        24,
        "emergency verdicts: the -Cou consistency and the power-meter cross-check of each verdict",
        """
        -- Issue 17 (emergency.md §2.1, §2.2): per verdict, the hourly -Cou amounts checked
        -- against Avg × flow, and the enterprise's sub-meter check (production cut, treatment
        -- off while producing). NULL: verdicts computed before this migration.
        ALTER TABLE emergency_verdicts ADD COLUMN cou JSON;
        ALTER TABLE emergency_verdicts ADD COLUMN power JSON;
        """,
    ),
    (
        25,
        "enterprise users (issue 17): role enterprise bound to its unified social credit code",
        """
        -- The users table again (DuckDB cannot alter a CHECK constraint), its role check now
        -- with 'enterprise': same columns, rows and id sequence (as migration 10 did).
        CREATE TABLE users_enterprise (
            user_id     INTEGER PRIMARY KEY DEFAULT nextval('user_ids'),
            name        VARCHAR NOT NULL UNIQUE,
            role        VARCHAR NOT NULL CHECK (role IN ('admin', 'editor', 'viewer', 'partner',
                                                         'enterprise')),
            city_code   INTEGER,                  -- editors: the one city they write
            password_hash VARCHAR NOT NULL,       -- Argon2id PHC string
            disabled    BOOLEAN NOT NULL DEFAULT false,
            created_at  TIMESTAMPTZ NOT NULL,
            CHECK ((role = 'editor') = (city_code IS NOT NULL))
        );
        INSERT INTO users_enterprise SELECT * FROM users;
        DROP TABLE users;
        ALTER TABLE users_enterprise RENAME TO users;
        -- Written only by ecobasin.store.emergency: the one enterprise (USCC) an enterprise
        -- user reads (web/security/policy.py, read_enterprise).
        CREATE TABLE emergency_enterprise_users (
            user_id     INTEGER PRIMARY KEY,
            uscc        VARCHAR NOT NULL,         -- 统一社会信用代码, 18 characters
            created_at  TIMESTAMPTZ NOT NULL
        );
        """,
    ),
    (
        26,
        "emergency findings (issue 17): stable id, closing note, the supervision case it became",
        """
        -- A finding is closed with a note (who, when); case_id is the hook to the supervision
        -- workflow (a case opened for the finding, by id) until cases live in this store.
        ALTER TABLE emergency_findings ADD COLUMN finding_id VARCHAR;
        UPDATE emergency_findings SET finding_id = substr(sha256(
            activation_id || '|' || uscc || '|' || outlet || '|' || kind), 1, 16);
        ALTER TABLE emergency_findings ADD COLUMN city_code INTEGER;
        UPDATE emergency_findings SET city_code = TRY_CAST(split_part(activation_id, '-', 1)
            AS INTEGER);
        ALTER TABLE emergency_findings ADD COLUMN closed_at TIMESTAMPTZ;
        ALTER TABLE emergency_findings ADD COLUMN closed_by VARCHAR;
        ALTER TABLE emergency_findings ADD COLUMN note VARCHAR;
        ALTER TABLE emergency_findings ADD COLUMN case_id VARCHAR;
        """,
    ),
    (
        27,
        "rectification cases and key tasks (issue 18): cases, case_transitions, case_links, "
        "case_roles, case_attachments, key_plans, key_tasks, key_milestones, key_progress, "
        "key_rejects",
        """
        -- Written only by ecobasin.store.cases. A case (task, petition or joint) is kept whole as
        -- the pure machine (ecobasin.workflow.cases) left it; its transitions are appended
        -- beside it and never updated or deleted (the state replays from them).
        CREATE TABLE cases (
            case_id      VARCHAR PRIMARY KEY,     -- DC-510100-2026-0001
            kind         VARCHAR NOT NULL,        -- task, petition, joint
            state        VARCHAR NOT NULL,
            city_code    INTEGER,                 -- NULL for a joint parent
            category     VARCHAR NOT NULL,
            lead_unit    VARCHAR NOT NULL,
            parent_id    VARCHAR NOT NULL,        -- '' or the joint parent
            body         JSON NOT NULL,
            registered_at TIMESTAMPTZ NOT NULL,
            updated_at   TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE case_transitions (
            case_id     VARCHAR NOT NULL,
            seq         INTEGER NOT NULL,         -- 1, 2, ... per case
            event       VARCHAR NOT NULL,
            from_state  VARCHAR NOT NULL,
            to_state    VARCHAR NOT NULL,
            actor       VARCHAR NOT NULL,
            role        VARCHAR NOT NULL,
            acted_at    TIMESTAMPTZ NOT NULL,
            reason      VARCHAR NOT NULL,
            changed     JSON NOT NULL,            -- {"before": {...}, "after": {...}}
            client      VARCHAR NOT NULL,         -- client address or "cli"
            PRIMARY KEY (case_id, seq)
        );
        -- Where a case came from or what it concerns: an alarm, an emergency-list finding, a
        -- noise complaint, a water section, a consultation decision (a link, never a copy).
        CREATE TABLE case_links (
            case_id     VARCHAR NOT NULL,
            source_kind VARCHAR NOT NULL,
            source_id   VARCHAR NOT NULL,
            url         VARCHAR NOT NULL,
            PRIMARY KEY (case_id, source_kind, source_id)
        );
        -- Case roles on top of the account roles: supervision_office, lead_unit, co_unit,
        -- city_office, joint_office, province; scoped to a city (NULL: the province/region)
        -- and, for units, to the unit's name.
        CREATE TABLE case_roles (
            user_name   VARCHAR NOT NULL,
            role        VARCHAR NOT NULL,
            city_code   INTEGER,
            unit        VARCHAR NOT NULL,
            granted_by  VARCHAR NOT NULL,
            granted_at  TIMESTAMPTZ NOT NULL
        );
        -- Attachments, content-addressed: the bytes live in a private file named by their
        -- SHA-256 beside the database (<db>.attachments/); the type is checked by content.
        CREATE TABLE case_attachments (
            sha256      VARCHAR PRIMARY KEY,
            media_type  VARCHAR NOT NULL,
            size        BIGINT NOT NULL,          -- [bytes]
            thumbnail   BOOLEAN NOT NULL,
            first_name  VARCHAR NOT NULL,
            created_at  TIMESTAMPTZ NOT NULL
        );
        -- Key tasks (年度重点任务): plan → area → task → milestone, progress with evidence.
        CREATE TABLE key_plans (
            plan_id     VARCHAR PRIMARY KEY,
            year        INTEGER NOT NULL,
            title       VARCHAR NOT NULL,
            issuer      VARCHAR NOT NULL,
            source      VARCHAR NOT NULL
        );
        CREATE TABLE key_tasks (
            task_id     VARCHAR PRIMARY KEY,      -- plan_id/code
            plan_id     VARCHAR NOT NULL,
            area        VARCHAR NOT NULL,
            code        VARCHAR NOT NULL,
            title       VARCHAR NOT NULL,
            owners      JSON NOT NULL,            -- cities or departments
            co_owners   JSON NOT NULL,
            deliverable VARCHAR NOT NULL,
            due         DATE NOT NULL,
            state       VARCHAR NOT NULL,
            percent     INTEGER NOT NULL,
            source_kind VARCHAR NOT NULL,         -- '' or consultation, joint_meeting ...
            source_id   VARCHAR NOT NULL,
            url         VARCHAR NOT NULL,
            updated_at  TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE key_milestones (
            task_id     VARCHAR NOT NULL,
            seq         INTEGER NOT NULL,
            title       VARCHAR NOT NULL,
            owner       VARCHAR NOT NULL,
            due         DATE NOT NULL,
            done_at     TIMESTAMPTZ,
            PRIMARY KEY (task_id, seq)
        );
        CREATE TABLE key_progress (
            task_id     VARCHAR NOT NULL,
            seq         INTEGER NOT NULL,
            reported_at TIMESTAMPTZ NOT NULL,
            actor       VARCHAR NOT NULL,
            action      VARCHAR NOT NULL,
            state_after VARCHAR NOT NULL,
            percent     INTEGER NOT NULL,
            narrative   VARCHAR NOT NULL,
            evidence    JSON NOT NULL,            -- SHA-256 of attachments
            PRIMARY KEY (task_id, seq)
        );
        -- Rows of imported task lists kept aside with their reason.
        CREATE TABLE key_rejects (
            file        VARCHAR NOT NULL,
            row_number  INTEGER NOT NULL,
            reason      VARCHAR NOT NULL,
            raw         JSON NOT NULL,
            rejected_at TIMESTAMPTZ NOT NULL
        );
        """,
    ),
    (
        28,
        "non-road mobile machinery registry of the eight cities (issue 18): owners, machines, "
        "engines, sites, presence, terminal pings, inspections, violations, zones, findings",
        """
        -- One registry, many issuers (nonroad brief A7): a code issued by any city holds in all;
        -- registration_code is kept as issued, code_norm (NFKC, upper, no separators) matches.
        CREATE SEQUENCE machinery_owner_ids START 1;
        CREATE TABLE machinery_owners (
            owner_id    INTEGER PRIMARY KEY DEFAULT nextval('machinery_owner_ids'),
            kind        VARCHAR NOT NULL CHECK (kind IN ('org', 'person')),
            name        VARCHAR NOT NULL,
            uscc        VARCHAR,                  -- 统一社会信用代码 (organisations)
            id_no_hash  VARCHAR,                  -- SHA-256 of a person's ID number, never the number
            contact     VARCHAR,
            city        INTEGER NOT NULL,
            UNIQUE (city, kind, name)
        );
        CREATE SEQUENCE machine_ids START 1;
        CREATE TABLE machines (
            machine_id        INTEGER PRIMARY KEY DEFAULT nextval('machine_ids'),
            registration_code VARCHAR NOT NULL,   -- as issued
            code_norm         VARCHAR NOT NULL,
            issuer_city       INTEGER NOT NULL,   -- GB/T 2260
            registered_at     TIMESTAMPTZ NOT NULL,
            status            VARCHAR NOT NULL CHECK (status IN
                                  ('active', 'transferred', 'scrapped', 'suspended')),
            machine_type      VARCHAR NOT NULL,
            brand             VARCHAR,
            model             VARCHAR,
            machine_serial    VARCHAR,
            manufacture_date  DATE,
            disclosure_no     VARCHAR,            -- 环保信息公开编号
            fuel              VARCHAR NOT NULL CHECK (fuel IN
                                  ('diesel', 'petrol', 'gas', 'electric', 'hybrid')),
            stage_declared    VARCHAR NOT NULL,   -- G0..G4, ELEC, OTHER_FUEL
            stage_verified    VARCHAR,            -- set by an inspector
            stage_inferred    VARCHAR,            -- from manufacture_date: review flag only
            rated_power_kw    DOUBLE,             -- [kW]
            pollution_control VARCHAR,            -- DOC/DPF/SCR/EGR
            terminal_id       VARCHAR,
            owner_id          INTEGER,
            current_city      INTEGER NOT NULL,
            batch_id          INTEGER,
            UNIQUE (code_norm, issuer_city)
        );
        CREATE TABLE machine_engines (
            machine_id     INTEGER PRIMARY KEY,
            engine_serial  VARCHAR,
            engine_model   VARCHAR,
            manufacturer   VARCHAR,
            rated_power_kw DOUBLE,                -- [kW]
            stage_on_plate VARCHAR
        );
        CREATE TABLE machinery_sites (
            site_id    VARCHAR PRIMARY KEY,
            city       INTEGER NOT NULL,
            name       VARCHAR NOT NULL,
            permit_no  VARCHAR,
            lon        DOUBLE NOT NULL,           -- [°E] WGS-84
            lat        DOUBLE NOT NULL,           -- [°N]
            start_day  DATE,
            end_day    DATE
        );
        CREATE TABLE machinery_presence (
            code_observed VARCHAR NOT NULL,
            code_norm     VARCHAR NOT NULL,
            site_id       VARCHAR NOT NULL,
            entered_at    TIMESTAMPTZ NOT NULL,
            left_at       TIMESTAMPTZ,
            source        VARCHAR NOT NULL CHECK (source IN ('gate', 'terminal', 'manual')),
            PRIMARY KEY (code_norm, site_id, entered_at)
        );
        CREATE TABLE terminal_pings (
            terminal_id VARCHAR NOT NULL,
            ts          TIMESTAMPTZ NOT NULL,
            lon         DOUBLE NOT NULL,
            lat         DOUBLE NOT NULL,
            status      VARCHAR,
            PRIMARY KEY (terminal_id, ts)
        );
        -- Spot checks (监督抽测, brief A5): visible to every city (mutual recognition).
        CREATE SEQUENCE machinery_inspection_ids START 1;
        CREATE TABLE machinery_inspections (
            inspection_id   INTEGER PRIMARY KEY DEFAULT nextval('machinery_inspection_ids'),
            machine_id      INTEGER,              -- NULL: unidentified machine
            code_observed   VARCHAR NOT NULL,
            code_norm       VARCHAR NOT NULL,
            site_id         VARCHAR,
            lon             DOUBLE,
            lat             DOUBLE,
            inspected_at    TIMESTAMPTZ NOT NULL,
            city            INTEGER NOT NULL,
            agency          VARCHAR NOT NULL,
            method          VARCHAR NOT NULL CHECK (method IN
                                ('free_accel', 'ringelmann', 'both', 'visual_only')),
            readings_k      DOUBLE[],             -- [m^-1], every reading
            k_mean          DOUBLE,               -- [m^-1]
            ringelmann_grade INTEGER,
            limit_class     VARCHAR,              -- I, II, III (GB 36886-2018)
            limit_k         DOUBLE,               -- [m^-1]
            result          VARCHAR NOT NULL CHECK (result IN ('pass', 'fail', 'not_tested')),
            label_present   BOOLEAN,
            engine_serial_observed VARCHAR,
            remarks         VARCHAR,
            follow_up_due   TIMESTAMPTZ,
            follow_up_of    INTEGER,
            recorded_by     VARCHAR NOT NULL
        );
        CREATE SEQUENCE machinery_violation_ids START 1;
        CREATE TABLE machinery_violations (
            violation_id  INTEGER PRIMARY KEY DEFAULT nextval('machinery_violation_ids'),
            inspection_id INTEGER NOT NULL,
            machine_id    INTEGER,
            code_norm     VARCHAR NOT NULL,
            city          INTEGER NOT NULL,
            type          VARCHAR NOT NULL,       -- SMOKE_FAIL, LABEL_MISSING ... (brief A5)
            decision      VARCHAR NOT NULL,       -- order_correct, stop_use, fine, case_filed
            deadline      TIMESTAMPTZ,
            closed_at     TIMESTAMPTZ,
            closed_by_inspection INTEGER
        );
        -- No-use zones: a version is never edited, only closed (valid_to) and replaced.
        CREATE TABLE machinery_zones (
            zone_id     VARCHAR NOT NULL,
            valid_from  TIMESTAMPTZ NOT NULL,
            valid_to    TIMESTAMPTZ,
            city        INTEGER NOT NULL,
            name        VARCHAR NOT NULL,
            feature     JSON NOT NULL,            -- the GeoJSON Feature as imported
            notice_ref  VARCHAR,
            PRIMARY KEY (zone_id, valid_from)
        );
        -- Findings of checks C1-C11: one row per (rule, code, city, reason); seen again, only
        -- last_seen moves. A finding can open a rectification case (case_ref).
        CREATE SEQUENCE machinery_finding_ids START 1;
        CREATE TABLE machinery_findings (
            finding_id     INTEGER PRIMARY KEY DEFAULT nextval('machinery_finding_ids'),
            rule           VARCHAR NOT NULL,
            code_norm      VARCHAR NOT NULL,
            machine_id     INTEGER,
            city           INTEGER NOT NULL,
            violation_type VARCHAR NOT NULL,
            reason         VARCHAR NOT NULL,
            evidence       JSON NOT NULL,
            first_seen     TIMESTAMPTZ NOT NULL,
            last_seen      TIMESTAMPTZ NOT NULL,
            status         VARCHAR NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
            case_ref       VARCHAR,
            UNIQUE (rule, code_norm, city, reason)
        );
        """,
    ),
    (
        29,
        "noise valid-data-rate alarms (issue 23): alarm kind low_valid_rate",
        """
        -- HJ 906-2017 completeness: a noise station-day below the valid data rate is an alarm
        -- of kind low_valid_rate. DuckDB cannot alter a CHECK constraint, so the table is
        -- rebuilt with its rows (no foreign key points at it).
        CREATE TABLE alarms_vdr (
            alarm_id    VARCHAR PRIMARY KEY,
            kind        VARCHAR NOT NULL CHECK (kind IN (
                            'over_limit', 'flag_persistent', 'silent', 'low_valid_rate')),
            site_id     VARCHAR NOT NULL,
            city_code   INTEGER,
            parameter   VARCHAR,
            flag        VARCHAR,
            start_time  TIMESTAMPTZ NOT NULL,
            end_time    TIMESTAMPTZ,
            status      VARCHAR NOT NULL CHECK (status IN ('open', 'closed')),
            peak        DOUBLE,
            limit_value DOUBLE,                   -- low_valid_rate: the minimum rate [1]
            multiple    DOUBLE,
            periods     INTEGER,                  -- low_valid_rate: valid hours of the day
            evidence    JSON NOT NULL,
            created_at  TIMESTAMPTZ NOT NULL,
            updated_at  TIMESTAMPTZ NOT NULL
        );
        INSERT INTO alarms_vdr SELECT * FROM alarms;
        DROP TABLE alarms;
        ALTER TABLE alarms_vdr RENAME TO alarms;
        """,
    ),
    (
        30,
        "incident notices by e-mail (issue 22): city contacts and deliveries",
        """
        -- The duty addresses of each recipient city (GB/T 2260 code as the notices name it).
        CREATE TABLE incident_contacts (
            city_code   VARCHAR NOT NULL,
            email       VARCHAR NOT NULL,
            name        VARCHAR NOT NULL,
            added_by    VARCHAR NOT NULL,
            added_at    TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (city_code, email)
        );
        -- One row per notice and address: mailed (when) or the last error and failed attempts.
        CREATE TABLE incident_notice_mail (
            notice_id   INTEGER NOT NULL,
            email       VARCHAR NOT NULL,
            mailed_at   TIMESTAMPTZ,
            error       VARCHAR,
            attempts    INTEGER NOT NULL,         -- failed attempts
            last_try    TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (notice_id, email)
        );
        """,
    ),
    (
        31,
        "published reports and bulletins (issue 19): report_files",
        """
        -- Air and water bulletins, low-carbon reports, scorecards: immutable, by SHA-256.
        CREATE TABLE report_files (
            sha256      VARCHAR PRIMARY KEY,      -- of content
            kind        VARCHAR NOT NULL,         -- air, water, lowcarbon, scorecard
            scope       VARCHAR NOT NULL,         -- 'region' or a city code
            period      VARCHAR NOT NULL,         -- 2025, 2025-11
            lang        VARCHAR NOT NULL,         -- zh, en
            media_type  VARCHAR NOT NULL,         -- text/html; charset=utf-8, application/pdf
            content     BLOB NOT NULL,
            created_at  TIMESTAMPTZ NOT NULL
        );
        """,
    ),
    (
        32,
        "air-quality model guidance (issue 21): ctm_guidance",
        """
        -- Hourly surface concentrations of chemical-transport-model runs (CMAQ, WRF-Chem, CAMS,
        -- or SIMULATED) at stations and cities, kept with the run's publication time: a forecast
        -- issued at T reads only runs with issued_at <= T.
        CREATE TABLE ctm_guidance (
            scope       VARCHAR NOT NULL CHECK (scope IN ('site', 'city')),
            point_id    VARCHAR NOT NULL,         -- site_id, or the city code as text
            model       VARCHAR NOT NULL,         -- CMAQ, WRF-Chem, CF
            issued_at   TIMESTAMPTZ NOT NULL,     -- UTC; when the run was published
            run_start   TIMESTAMPTZ NOT NULL,     -- UTC; initialisation
            valid_time  TIMESTAMPTZ NOT NULL,     -- UTC; end of the hour
            pollutant   VARCHAR NOT NULL,         -- PM2.5, PM10, O3, NO2, SO2, CO
            value       DOUBLE NOT NULL,          -- [ug/m3; CO mg/m3], gases at 298.15 K
            simulated   BOOLEAN NOT NULL,         -- the file says SIMULATED
            source      VARCHAR NOT NULL,         -- file name
            PRIMARY KEY (scope, point_id, model, issued_at, valid_time, pollutant)
        );
        """,
    ),
    (
        33,
        "machinery terminal pings with engine data, site polygons (issue 18)",
        """
        -- A8 terminal_ping: the engine's hour meter [h] and state (on, off, idle) per report.
        ALTER TABLE terminal_pings ADD COLUMN engine_hours DOUBLE;
        ALTER TABLE terminal_pings ADD COLUMN engine_state VARCHAR;
        -- A6 site.polygon: the site's area as a GeoJSON geometry (WGS-84); NULL: the point only.
        ALTER TABLE machinery_sites ADD COLUMN polygon JSON;
        """,
    ),
    (
        34,
        "machinery gate events (issue 18): a site's gate check of a machine, admitted or refused",
        """
        -- A6 进出场核验: every scan at a site's gate with its decision and reasons (append-only).
        CREATE SEQUENCE machinery_gate_event_ids START 1;
        CREATE TABLE machinery_gate_events (
            event_id      INTEGER PRIMARY KEY DEFAULT nextval('machinery_gate_event_ids'),
            site_id       VARCHAR NOT NULL,
            code_observed VARCHAR NOT NULL,
            code_norm     VARCHAR NOT NULL,
            machine_id    INTEGER,                -- NULL: no active registration
            checked_at    TIMESTAMPTZ NOT NULL,
            decision      VARCHAR NOT NULL CHECK (decision IN ('admit', 'refuse')),
            reasons       JSON NOT NULL,          -- [{code, text_zh, text_en}]
            operator      VARCHAR NOT NULL
        );
        """,
    ),
    (
        35,
        "inspections and their feedback problems as records of their own (issue 18)",
        """
        -- 督察: who inspected, when, which cities, what kind (consultation_and_cases.md §2.1).
        CREATE SEQUENCE supervision_inspection_ids START 1;
        CREATE TABLE supervision_inspections (
            inspection_id INTEGER PRIMARY KEY DEFAULT nextval('supervision_inspection_ids'),
            title         VARCHAR NOT NULL,       -- 省级第三轮第四批 …
            kind          VARCHAR NOT NULL CHECK (kind IN ('provincial', 'joint', 'routine')),
            inspector     VARCHAR NOT NULL,       -- the inspection team or office
            started_on    DATE NOT NULL,
            ended_on      DATE,
            cities        INTEGER[] NOT NULL,     -- GB/T 2260
            created_by    VARCHAR NOT NULL,
            created_at    TIMESTAMPTZ NOT NULL
        );
        -- 反馈问题: each opens or links rectification cases (supervision_problem_cases).
        CREATE SEQUENCE supervision_problem_ids START 1;
        CREATE TABLE supervision_problems (
            problem_id    INTEGER PRIMARY KEY DEFAULT nextval('supervision_problem_ids'),
            inspection_id INTEGER NOT NULL,
            item_no       VARCHAR NOT NULL,       -- the item of the feedback report
            city          INTEGER NOT NULL,
            category      VARCHAR NOT NULL,       -- catalog/data/cases/categories.toml
            text          VARCHAR NOT NULL,
            created_at    TIMESTAMPTZ NOT NULL,
            UNIQUE (inspection_id, item_no)
        );
        CREATE TABLE supervision_problem_cases (
            problem_id    INTEGER NOT NULL,
            case_id       VARCHAR NOT NULL,
            opened        BOOLEAN NOT NULL,       -- true: the problem opened it; false: linked
            PRIMARY KEY (problem_id, case_id)
        );
        """,
    ),
    (
        36,
        "rectification case reminders by e-mail (issue 18): unit contacts and deliveries",
        """
        -- The addresses of a responsible unit (牵头单位, as cases name it), optionally of a city.
        CREATE TABLE case_contacts (
            unit        VARCHAR NOT NULL,
            email       VARCHAR NOT NULL,
            name        VARCHAR NOT NULL,
            added_by    VARCHAR NOT NULL,
            added_at    TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (unit, email)
        );
        -- One row per case, kind (due_soon, overdue), deadline and address: sent once, even
        -- across restarts; a failure keeps its error and is tried again.
        CREATE TABLE case_reminders (
            case_id     VARCHAR NOT NULL,
            kind        VARCHAR NOT NULL CHECK (kind IN ('due_soon', 'overdue')),
            due_day     DATE NOT NULL,
            email       VARCHAR NOT NULL,
            mailed_at   TIMESTAMPTZ,
            error       VARCHAR,
            attempts    INTEGER NOT NULL,         -- failed attempts
            last_try    TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (case_id, kind, due_day, email)
        );
        """,
    ),
    (
        37,
        "HYSPLIT back-trajectories per station for PSCF and CWT (issue 19)",
        """
        -- Every tdump file offered for a station, imported or kept aside with the reason.
        CREATE TABLE trajectory_files (
            sha256      VARCHAR NOT NULL,         -- of content
            site_id     VARCHAR NOT NULL,         -- the receptor station
            name        VARCHAR NOT NULL,         -- the file name as sent
            size        BIGINT NOT NULL,          -- [bytes]
            status      VARCHAR NOT NULL CHECK (status IN ('imported', 'rejected')),
            reason      VARCHAR,                  -- why a file was kept aside
            endpoints   INTEGER NOT NULL,         -- endpoints read
            bad_lines   INTEGER NOT NULL,         -- lines kept aside (trajectory_bad_lines)
            imported_by VARCHAR,
            imported_at TIMESTAMPTZ NOT NULL,
            content     BLOB,                     -- the bytes of a rejected file, kept aside
            PRIMARY KEY (site_id, sha256)
        );
        CREATE TABLE trajectory_bad_lines (
            sha256      VARCHAR NOT NULL,
            site_id     VARCHAR NOT NULL,
            line        INTEGER NOT NULL,         -- 1-based line number in the file
            reason      VARCHAR NOT NULL,
            PRIMARY KEY (site_id, sha256, line)
        );
        -- One row per endpoint; a trajectory is its arrival instant and start height, so a
        -- file offered twice, or two files overlapping, store each endpoint once.
        CREATE TABLE trajectory_endpoints (
            site_id     VARCHAR NOT NULL,
            arrival     TIMESTAMPTZ NOT NULL,     -- UTC arrival at the station
            start_height_m DOUBLE NOT NULL,       -- [m AGL] at the station
            age_h       DOUBLE NOT NULL,          -- [h], negative backwards
            lat         DOUBLE NOT NULL,          -- [°N]
            lon         DOUBLE NOT NULL,          -- [°E]
            height_m    DOUBLE NOT NULL,          -- [m AGL]
            sha256      VARCHAR NOT NULL,         -- the file it came from first
            PRIMARY KEY (site_id, arrival, start_height_m, age_h)
        );
        """,
    ),
    (
        38,
        "scheduled bulletins (issue 19): what was written from which data",
        """
        -- One row per scheduled report and time it was written: the SHA-256 of the numbers it
        -- was written from, so an unchanged report is not written again after a restart.
        CREATE TABLE report_runs (
            kind        VARCHAR NOT NULL,         -- air, water, lowcarbon
            scope       VARCHAR NOT NULL,         -- region or a city code
            period      VARCHAR NOT NULL,         -- 2025-11, 2025Q3, 2025
            data_sha256 VARCHAR NOT NULL,         -- of the report's numbers (canonical JSON)
            files       JSON NOT NULL,            -- the stored files' hashes, languages, types
            mailed      INTEGER NOT NULL,         -- subscribers mailed
            mail_error  VARCHAR,
            written_at  TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (kind, scope, period, data_sha256)
        );
        """,
    ),
    (
        39,
        "the lake's manifest (issue 20): lake_months",
        """
        -- One row per table and China Standard Time month copied to the Delta Lake history
        -- (store/lake.py): what the store held when it was exported and where it went. The
        -- read path takes a month from the lake once deleted_at is set, from the store before.
        CREATE TABLE lake_months (
            table_name  VARCHAR NOT NULL,         -- observations, aqi_hourly, aqi_daily
            year        INTEGER NOT NULL,
            month       INTEGER NOT NULL,         -- CST month of the day the rows belong to
            rows        BIGINT NOT NULL,          -- rows exported
            checksum    VARCHAR NOT NULL,         -- sum of the rows' hashes (order-free)
            lake        VARCHAR NOT NULL,         -- absolute folder of the lake
            exported_at TIMESTAMPTZ NOT NULL,
            verified_at TIMESTAMPTZ,              -- the lake's count and checksum matched
            deleted_at  TIMESTAMPTZ,              -- the store's copy deleted (read from the lake)
            PRIMARY KEY (table_name, year, month)
        );
        """,
    ),
    (
        40,
        "PMF runs (issue 19, B7): pmf_runs",
        """
        -- One row per stored PMF solution of a site's speciated samples (ESAT in its worker):
        -- what went in, the fit's Q values, the kept solution and the bootstrap's summary.
        CREATE TABLE pmf_runs (
            run_id        VARCHAR PRIMARY KEY,    -- uuid4 hex
            site_id       VARCHAR NOT NULL,
            first_sample  VARCHAR NOT NULL,       -- the period: first and last sample id
            last_sample   VARCHAR NOT NULL,
            samples       INTEGER NOT NULL,
            species       JSON NOT NULL,          -- [{species, signal_to_noise, category}]
            factors       INTEGER NOT NULL,
            models        INTEGER NOT NULL,       -- seeds fitted
            seed          INTEGER NOT NULL,       -- first seed
            q_true        DOUBLE NOT NULL,
            q_robust      DOUBLE NOT NULL,
            q_expected    INTEGER NOT NULL,
            models_q_true JSON NOT NULL,          -- every seed's Q(true)
            profiles      JSON NOT NULL,          -- F: {factor: {species: value}}
            contributions JSON NOT NULL,          -- G: {sample: {factor: value}}
            bootstrap     JSON,                   -- summary and intervals, null when not run
            esat_version  VARCHAR NOT NULL,
            created_by    VARCHAR NOT NULL,
            created_at    TIMESTAMPTZ NOT NULL
        );
        CREATE INDEX pmf_runs_site ON pmf_runs (site_id, created_at);
        """,
    ),
    (
        41,
        "emergency verdicts (issue 17): the line judged and the grade in force at the warning start",
        """
        -- Issue 17 (emergency.md §1.5): a measure may target one process / line of the
        -- enterprise (the line's id, NULL for an enterprise-wide measure), and a check uses the
        -- grade in force at the warning start: {grade, source document, effective_from}.
        ALTER TABLE emergency_verdicts ADD COLUMN process_id VARCHAR;
        ALTER TABLE emergency_verdicts ADD COLUMN grade JSON;
        """,
    ),
    (
        42,
        "gate operators (issue 18, A6): role gate bound to one construction site",
        """
        -- The users table again (DuckDB cannot alter a CHECK constraint), its role check now
        -- with 'gate': same columns, rows and id sequence (as migrations 10 and 25 did).
        CREATE TABLE users_gate (
            user_id     INTEGER PRIMARY KEY DEFAULT nextval('user_ids'),
            name        VARCHAR NOT NULL UNIQUE,
            role        VARCHAR NOT NULL CHECK (role IN ('admin', 'editor', 'viewer', 'partner',
                                                         'enterprise', 'gate')),
            city_code   INTEGER,                  -- editors: the one city they write
            password_hash VARCHAR NOT NULL,       -- Argon2id PHC string
            disabled    BOOLEAN NOT NULL DEFAULT false,
            created_at  TIMESTAMPTZ NOT NULL,
            CHECK ((role = 'editor') = (city_code IS NOT NULL))
        );
        INSERT INTO users_gate SELECT * FROM users;
        DROP TABLE users;
        ALTER TABLE users_gate RENAME TO users;
        -- Written only by ecobasin.store.machinery: the one construction site whose gate a gate
        -- operator checks machines at (web/security/policy.py, machinery:gate).
        CREATE TABLE machinery_gate_operators (
            user_id     INTEGER PRIMARY KEY,
            site_id     VARCHAR NOT NULL,         -- machinery_sites.site_id
            created_at  TIMESTAMPTZ NOT NULL
        );
        """,
    ),
    (
        43,
        "stored hourly forecasts (issue 21): forecast_hourly",
        """
        -- The 72-hour hourly forecast of an issue, written by `forecast run`, `forecast hourly`
        -- and the demo (store/forecast_hourly.py), read by /api/v1/forecasts/hourly instead of a
        -- fit per request. One row per city, pollutant, issue time and valid hour: the six
        -- pollutants, their moving means (O3_8h, PM2.5_24h, PM10_24h) and the hourly AQI of
        -- each rule generation (pollutant 'AQI:HJ633-2012' / 'AQI:HJ633-2026', with level and
        -- primary pollutant). Rewriting an issue replaces its rows (idempotent per key).
        CREATE TABLE forecast_hourly (
            city        VARCHAR NOT NULL,         -- city code (GB/T 2260) as text
            pollutant   VARCHAR NOT NULL,         -- PM2.5 ... SO2, O3_8h, PM2.5_24h, AQI:<rule set>
            issued_at   TIMESTAMPTZ NOT NULL,     -- the issue time: local 24:00 of the issue day
            valid_time  TIMESTAMPTZ NOT NULL,     -- UTC end of the forecast hour
            issue_day   DATE NOT NULL,            -- CST day whose hours the forecast saw last
            lead_hour   SMALLINT NOT NULL,        -- 1 ... 72 [h] after the issue time
            local_day   DATE NOT NULL,            -- CST day of the hour
            local_hour  TINYINT NOT NULL,         -- CST hour start 0 ... 23
            value       DOUBLE,                   -- [ug/m3] (CO mg/m3); AQI rows: the AQI
            low         DOUBLE,                   -- 5 % quantile (AQI rows: AQI of the low path)
            high        DOUBLE,                   -- 95 % quantile
            level       TINYINT,                  -- AQI rows: level 1 ... 6
            primary_pollutant VARCHAR,            -- AQI rows
            model_version VARCHAR NOT NULL,       -- hourly model version and the daily model it follows
            created_at  TIMESTAMPTZ NOT NULL,     -- when it was computed
            PRIMARY KEY (city, pollutant, issued_at, valid_time)
        );
        CREATE INDEX forecast_hourly_issue ON forecast_hourly (issue_day, city);
        """,
    ),
    (
        44,
        "dedup floors of the gateway writer (issue 12, Speed): gateway_message_floors",
        """
        -- Per (MN, CN), the latest 14-digit DataTime (as sent) of the message keys ever
        -- recorded in gateway_messages: an upper bound kept in the transaction that records
        -- them (never lowered by a prune). The writer's dedup cache (gateway/writer.py
        -- RecentKeys) starts from it instead of an aggregate over the whole dedup table.
        CREATE TABLE gateway_message_floors (
            mn          VARCHAR NOT NULL,
            cn          VARCHAR NOT NULL,
            data_time   VARCHAR NOT NULL,         -- YYYYMMDDhhmmss as sent
            PRIMARY KEY (mn, cn)
        );
        INSERT INTO gateway_message_floors
            SELECT mn, cn, max(data_time) FROM gateway_messages
            WHERE regexp_full_match(data_time, '[0-9]{14}') GROUP BY mn, cn;
        """,
    ),
    (
        45,
        "incident sources and reach rating curves (issue 22)",
        """
        -- What released the pollutant (brief incidents.md §3 incident.source_type): a kind of
        -- ecobasin.workflow.incidents.SOURCE_TYPES and a free description (who, which plant).
        ALTER TABLE incidents ADD COLUMN source_type VARCHAR DEFAULT 'unknown';
        ALTER TABLE incidents ADD COLUMN source VARCHAR DEFAULT '';
        -- A reach's rating curve Q = a·(h − h0)^b [m³/s] at its gauged stage h [m] (brief §2.2
        -- item 3): the discharge when none is given.
        ALTER TABLE river_reaches ADD COLUMN stage_m DOUBLE;
        ALTER TABLE river_reaches ADD COLUMN rating_a DOUBLE;
        ALTER TABLE river_reaches ADD COLUMN rating_h0_m DOUBLE;
        ALTER TABLE river_reaches ADD COLUMN rating_b DOUBLE;
        """,
    ),
]
