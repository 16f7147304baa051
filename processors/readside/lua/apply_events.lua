-- Apply a batch of journal events of ONE partition to the Redis read model, atomically.
--
-- Idempotent and ordered: an event is skipped when its offset is not beyond the partition's
-- stored offset, and an APPLIED event also when its account sequence is not beyond the
-- account's stored sequence. So at-least-once delivery (redelivery, replays, overlapping
-- heals) has an exactly-once effect. Layout: readmodel/keys.py.
--
-- ARGV[1]  key prefix
-- ARGV[2]  generation to write; '' = the live one (P .. 'live')
-- ARGV[3]  journal partition
-- ARGV[4]  mode: 'mirror' (gap check, publish outcomes) or 'build' (neither)
-- ARGV[5]  generation the caller last wrote to ('' = none)
-- ARGV[6]  offset the caller last recorded there ('' = none)
-- ARGV[7]  offset of the first event of the batch (or of the position to advance to)
-- ARGV[8]  offset to record as applied when done (the last offset consumed)
-- ARGV[9]  history entries kept per account
-- ARGV[10] seconds a request status is kept
-- ARGV[11..] events, JSON (processors/readside/projection.py); amounts are strings so Lua's
--            doubles never touch them (Redis parses them as 64-bit integers)
--
-- Returns {status, generation, stored offset, events applied}; status is
--   'OK', 'NO_MODEL' (no live generation: Redis lost its data or was never built), or
--   'GAP' (the stored offset is behind the batch and the caller cannot vouch for the
--   records in between: it must re-read them from the journal, then retry).
local prefix = ARGV[1]
local generation = ARGV[2]
if generation == '' then
  generation = redis.call('GET', prefix .. 'live')
  if not generation then
    return {'NO_MODEL', '', -1, 0}
  end
end
local base = prefix .. generation .. ':'
local partition = ARGV[3]
local mode = ARGV[4]
local stored = tonumber(redis.call('HGET', base .. 'offsets', partition) or '-1')
local first = tonumber(ARGV[7])

if mode == 'mirror' and stored < first - 1 then
  local vouched = ARGV[5] == generation and ARGV[6] ~= '' and tonumber(ARGV[6]) == stored
  if not vouched then
    return {'GAP', generation, stored, 0}
  end
end

local history_max = tonumber(ARGV[9])
local status_ttl = tonumber(ARGV[10])
local channel = prefix .. 'outcomes'
local applied = 0

for i = 11, #ARGV do
  local e = cjson.decode(ARGV[i])
  if e.o > stored then
    local account_key = base .. 'acct:' .. e.p .. ':' .. e.a
    local request_key = base .. 'req:' .. e.p .. ':' .. e.a .. ':' .. e.q
    local recorded = false
    if e.st == 'APPLIED' then
      local current = tonumber(redis.call('HGET', account_key, '_sequence') or '0')
      if e.s > current then
        for _, b in ipairs(e.b) do
          redis.call('HSET', account_key, b[1] .. '.available', b[2], b[1] .. '.held', b[3])
        end
        redis.call('HSET', account_key, '_sequence', e.s, '_processed_at_ms', e.t)
        for _, t in ipairs(e.ps) do
          redis.call('HINCRBY', base .. 'totals:' .. e.p, t[1], t[2])
        end
        redis.call('SET', request_key, e.r, 'EX', status_ttl)
        recorded = true
      end
    else
      -- REJECTED and DUPLICATE change nothing but the request's status. A final rejection
      -- (e.f == 1, remembered by the ledger) is the request's outcome and is stored; any other
      -- reply (a DUPLICATE, a rejection the ledger does not remember) never hides a stored one.
      if e.f == 1 or redis.call('EXISTS', request_key) == 0 then
        redis.call('SET', request_key, e.r, 'EX', status_ttl)
      end
      recorded = true
    end
    if recorded then
      local history_key = base .. 'hist:' .. e.p .. ':' .. e.a
      redis.call('LPUSH', history_key, e.h)
      redis.call('LTRIM', history_key, 0, history_max - 1)
      redis.call('SADD', base .. 'accounts:' .. e.p, e.a)
      redis.call('SADD', base .. 'programs', e.p)
      applied = applied + 1
      if mode == 'mirror' then
        redis.call('PUBLISH', channel, e.r)
      end
    end
    stored = e.o
  end
end

local advance_to = tonumber(ARGV[8])
if advance_to > stored then
  stored = advance_to
end
redis.call('HSET', base .. 'offsets', partition, stored)
return {'OK', generation, stored, applied}
