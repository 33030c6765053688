-- Admins manage tokens on staff's pages: the day each token was last used, and who created and revoked which.

-- The district's day of the token's latest request, written at most once a day per token: looking a token up, at
-- every request, does not write.
ALTER TABLE api_tokens ADD COLUMN last_used_on date;

CREATE TABLE token_changes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_id    bigint NOT NULL REFERENCES api_tokens (id),
    change      text NOT NULL CHECK (change IN ('created', 'revoked')),
    changed_at  timestamptz NOT NULL DEFAULT now(),
    changed_by  bigint REFERENCES api_tokens (id),  -- the admin's token; NULL: the server's command line
    submission  text  -- the key of the page whose form created the token: pressed twice, it creates one
);

CREATE UNIQUE INDEX token_changes_submission ON token_changes (changed_by, submission) WHERE submission IS NOT NULL;
CREATE INDEX token_changes_token ON token_changes (token_id);
CREATE INDEX token_changes_changed_by ON token_changes (changed_by);
CREATE INDEX token_changes_changed_at ON token_changes (changed_at);
