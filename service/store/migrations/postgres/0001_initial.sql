-- magcds governance store, PostgreSQL, schema version 1 (issue #16).
-- Times are UTC epoch seconds. No raw patient id, token or clinical value.

CREATE TABLE issued_cards (
  card_uuid       TEXT PRIMARY KEY,
  service_id      TEXT NOT NULL,
  rule_id         TEXT NOT NULL,
  rule_version    TEXT NOT NULL,
  ruleset_id      TEXT NOT NULL,
  ruleset_version TEXT NOT NULL,
  indicator       TEXT NOT NULL,
  hook_instance   TEXT NOT NULL,
  patient_hash    TEXT,             -- hmac-sha256:<hex>; NULL without a hash key
  issued_at       BIGINT NOT NULL
);
CREATE INDEX issued_cards_issued_at ON issued_cards (issued_at);
CREATE INDEX issued_cards_rule ON issued_cards (rule_id, rule_version);

CREATE TABLE feedback (
  id                   BIGSERIAL PRIMARY KEY,
  service_id           TEXT NOT NULL,
  card_uuid            TEXT NOT NULL,
  outcome              TEXT NOT NULL CHECK (outcome IN ('accepted', 'overridden')),
  outcome_timestamp    TEXT NOT NULL,
  accepted_suggestions TEXT NOT NULL DEFAULT '[]',  -- JSON array of suggestion uuids
  suggestion_count     INTEGER NOT NULL DEFAULT 0,
  override_system      TEXT,
  override_code        TEXT,
  override_display     TEXT,
  user_comment         TEXT,
  received_at          BIGINT NOT NULL,
  -- Idempotence: the same item sent twice (to any replica) is one row.
  UNIQUE (service_id, card_uuid, outcome, outcome_timestamp)
);
CREATE INDEX feedback_card ON feedback (card_uuid);
CREATE INDEX feedback_received_at ON feedback (received_at);

-- Shared JWT replay cache: a jti seen by one replica is refused by all.
CREATE TABLE jwt_replay (
  replay_key TEXT PRIMARY KEY,  -- SHA-256 of iss and jti, never the token
  expires_at BIGINT NOT NULL
);
CREATE INDEX jwt_replay_expires_at ON jwt_replay (expires_at);
