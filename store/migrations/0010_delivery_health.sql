-- The operator's dashboard of delivery health (delivery.Health) reads the
-- calls and attempts of a recent window: these indexes make that cost
-- follow the window, not the whole history. Both columns are written once,
-- when the row is inserted, so the indexes cost the engine's hot updates
-- nothing.
CREATE INDEX delivery_calls_created ON delivery_calls (created_at);
CREATE INDEX delivery_attempts_started ON delivery_attempts (started_at);
