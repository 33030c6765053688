-- Who sent an item from the public side, as far as the service can tell without keeping it: the browser's signed
-- cookie, else the client address's network (an IPv4 address, an IPv6 /64), as an HMAC keyed with a key derived from
-- the installation's secret (`ratelimit.sender_key`). A case counts its reporters by it when they left no phone: one
-- person sending a complaint again in other words, under new Idempotency-Keys, made a crowd of one. A grid worker's
-- item on another channel than the grid's holds 'grid:' and their token's id, as the grid's are counted. NULL for items
-- entered with another token (an operator's or staff's: on many residents' reports), imported, or stored before this.
ALTER TABLE items ADD COLUMN sender_key text;
