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
            decimals    INTEGER
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
            updated_at  TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE observations (
            site_id     VARCHAR NOT NULL,
            parameter   VARCHAR NOT NULL,
            period      VARCHAR NOT NULL,         -- 1h, 1d, 10min, 1min, instant
            time        TIMESTAMPTZ NOT NULL,     -- UTC; end of the averaging period
            value       DOUBLE,
            flag        VARCHAR,                  -- HJ 212 data flag (N, F, M, S, D, C, T, B) or source flag
            batch_id    INTEGER NOT NULL          -- import_batches: where and when it came in
            -- one row per (site_id, parameter, period, time): the store's only writer,
            -- Store.write_observations, upserts by that key. No index: appends stay fast
            -- and time-ordered data lets DuckDB's zone maps prune the key lookups.
        );
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
]
