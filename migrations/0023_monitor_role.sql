-- A token that reads /metrics and nothing else: the scraper's (Prometheus), kept apart from staff tokens, which
-- read residents' items.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check
    CHECK (role IN ('operator', 'grid', 'staff', 'admin', 'monitor'));
