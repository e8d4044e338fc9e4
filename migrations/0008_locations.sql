-- The places stock is kept: warehouses, stores. Orders are served from the active locations that serve
-- their sales channel, best (lowest) priority first. `default` exists from here on: a shop with one
-- place keeps all its stock there.
CREATE TABLE locations (
  location_id text PRIMARY KEY CHECK (length(location_id) BETWEEN 1 AND 200),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  priority    integer NOT NULL DEFAULT 100 CHECK (priority BETWEEN 0 AND 1000000),
  -- the sales channels it serves; empty: every channel
  channels    text[] NOT NULL DEFAULT '{}',
  active      boolean NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

INSERT INTO locations (location_id, name) VALUES ('default', 'default');
