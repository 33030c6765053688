-- The secret that the rate limits' Redis keys are hashed with (HMAC-SHA-256). A client address hashed without one is
-- read back by hashing every IPv4 address, a few minutes' work: whoever could read Redis would learn which addresses
-- had just written in. Kept here, apart from Redis, one per installation; gen_random_uuid draws from the server's
-- strong random source (122 random bits a UUID, two of them).
CREATE TABLE rate_limit_secret (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    secret   bytea NOT NULL
);

INSERT INTO rate_limit_secret (secret)
VALUES (decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));
