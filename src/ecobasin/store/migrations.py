"""The store's schema, as an ordered list of migrations applied on open.

Each migration is applied once, in one transaction, and recorded in ``schema_version``. Never edit
a migration that has shipped: add the next one. Times are UTC instants (TIMESTAMPTZ); an hourly
value sits at the instant its hour ends (see ``ecobasin.timebase``).
"""

from __future__ import annotations

MIGRATIONS: list[tuple[int, str, str]] = [
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
]
