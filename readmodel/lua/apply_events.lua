#!lua
-- Apply a batch of journal events of ONE partition to the Redis read model, atomically.
--
-- The shebang makes Redis refuse the whole script up front when it is out of memory, rather
-- than let a write fail halfway and leave half a batch; nothing below can fail for a
-- well-formed batch (totals are decimal strings added here, never HINCRBY, which overflows).
--
-- Idempotent and ordered: an event is skipped when its offset is not beyond the partition's
-- stored offset, and an APPLIED event also when its account sequence is not beyond the
-- account's stored sequence. So at-least-once delivery (redelivery, replays, overlapping
-- heals) has an exactly-once effect. Every key name comes from readmodel/keys.py: fixed ones
-- in ARGV, the event's own in its JSON (suffixes under the generation).
--
-- ARGV[1]  key prefix P
-- ARGV[2]  generation to write; '' = the live one
-- ARGV[3]  journal partition
-- ARGV[4]  mode: 'mirror' (gap check, publish outcomes) or 'build' (neither)
-- ARGV[5]  generation the caller last wrote to ('' = none)
-- ARGV[6]  offset the caller last recorded there ('' = none)
-- ARGV[7]  offset of the first event of the batch (or of the position to advance to)
-- ARGV[8]  offset to record as applied when done (the last offset consumed)
-- ARGV[9]  history entries kept per account
-- ARGV[10] seconds a request status is kept
-- ARGV[11] the live pointer key
-- ARGV[12] the outcome channel (of outcomes no gateway process waits for)
-- ARGV[13] suffix of the offsets hash under the generation
-- ARGV[14] suffix of the programs set under the generation
-- ARGV[15] seconds an activity counter (P + "activity:{second}") is kept
-- ARGV[16] freshness bucket bounds in ms, ascending, comma-separated (keys.FRESHNESS_BOUNDS_MS)
-- ARGV[17..] events, JSON (readmodel/projection.py); amounts are strings so Lua's
--            doubles never touch them
--
-- Returns {status, generation, stored offset, events applied}; status is
--   'OK', 'NO_MODEL' (no live generation: Redis lost its data or was never built), or
--   'GAP' (the stored offset is behind the batch and the caller cannot vouch for the
--   records in between: it must re-read them from the journal, then retry).

-- Exact sums of signed decimal strings of any length. Lua numbers are doubles, exact only
-- below 2^53: small sums take the fast path, larger ones go limb by limb (base 10^7).
local LIMB = 10000000

local function limbs(digits)
  local out = {}
  local i = #digits
  while i >= 1 do
    local j = math.max(1, i - 6)
    out[#out + 1] = tonumber(string.sub(digits, j, i))
    i = j - 1
  end
  return out
end

local function compare(a, b)
  if #a ~= #b then
    return #a < #b and -1 or 1
  end
  for i = #a, 1, -1 do
    if a[i] ~= b[i] then
      return a[i] < b[i] and -1 or 1
    end
  end
  return 0
end

local function add_limbs(a, b)
  local out, carry = {}, 0
  for i = 1, math.max(#a, #b) do
    local sum = (a[i] or 0) + (b[i] or 0) + carry
    if sum >= LIMB then
      carry, sum = 1, sum - LIMB
    else
      carry = 0
    end
    out[i] = sum
  end
  if carry > 0 then
    out[#out + 1] = carry
  end
  return out
end

local function subtract_limbs(a, b) -- requires a >= b
  local out, borrow = {}, 0
  for i = 1, #a do
    local difference = a[i] - (b[i] or 0) - borrow
    if difference < 0 then
      borrow, difference = 1, difference + LIMB
    else
      borrow = 0
    end
    out[i] = difference
  end
  while #out > 1 and out[#out] == 0 do
    out[#out] = nil
  end
  return out
end

local function render(negative, value)
  local parts = {string.format('%d', value[#value])}
  for i = #value - 1, 1, -1 do
    parts[#parts + 1] = string.format('%07d', value[i])
  end
  local text = table.concat(parts)
  if negative and text ~= '0' then
    return '-' .. text
  end
  return text
end

local function add_decimal(x, y)
  if #x < 16 and #y < 16 then
    return string.format('%.0f', tonumber(x) + tonumber(y))
  end
  local x_negative, y_negative = string.sub(x, 1, 1) == '-', string.sub(y, 1, 1) == '-'
  local a = limbs(x_negative and string.sub(x, 2) or x)
  local b = limbs(y_negative and string.sub(y, 2) or y)
  if x_negative == y_negative then
    return render(x_negative, add_limbs(a, b))
  end
  if compare(a, b) >= 0 then
    return render(x_negative, subtract_limbs(a, b))
  end
  return render(y_negative, subtract_limbs(b, a))
end

local prefix = ARGV[1]
local generation = ARGV[2]
if generation == '' then
  generation = redis.call('GET', ARGV[11])
  if not generation then
    return {'NO_MODEL', '', -1, 0}
  end
end
local base = prefix .. generation .. ':'
local partition = ARGV[3]
local mode = ARGV[4]
local offsets_key = base .. ARGV[13]
local stored = tonumber(redis.call('HGET', offsets_key, partition) or '-1')
local first = tonumber(ARGV[7])

if mode == 'mirror' and stored < first - 1 then
  local vouched = ARGV[5] == generation and ARGV[6] ~= '' and tonumber(ARGV[6]) == stored
  if not vouched then
    return {'GAP', generation, stored, 0}
  end
end

local history_max = tonumber(ARGV[9])
local status_ttl = tonumber(ARGV[10])
local channel = ARGV[12]
local activity_ttl = tonumber(ARGV[15])
local counting = {} -- activity counters already given their expiry in this call
local programs_key = base .. ARGV[14]
local fresh_bounds = {}
for bound in string.gmatch(ARGV[16], '[^,]+') do
  fresh_bounds[#fresh_bounds + 1] = tonumber(bound)
end
local now_ms = nil -- Redis's clock, read once: when this batch becomes visible
local applied = 0

-- The bucket of a request sent at `sent_ms` that becomes visible now.
local function freshness_bucket(sent_ms)
  if not now_ms then
    local time = redis.call('TIME')
    now_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  end
  local age = now_ms - sent_ms
  for _, bound in ipairs(fresh_bounds) do
    if age <= bound then
      return tostring(bound)
    end
  end
  return 'inf'
end

for i = 17, #ARGV do
  local e = cjson.decode(ARGV[i])
  if e.o > stored then
    local account_key = base .. e.ka
    local request_key = base .. e.kr
    local recorded = false
    if e.st == 'APPLIED' then
      local current = tonumber(redis.call('HGET', account_key, '_sequence') or '0')
      if e.s > current then
        for _, b in ipairs(e.b) do
          redis.call('HSET', account_key, b[1] .. '.available', b[2], b[1] .. '.held', b[3])
        end
        redis.call('HSET', account_key, '_sequence', e.s, '_processed_at_ms', e.t)
        local totals_key = base .. e.kt
        for _, t in ipairs(e.ps) do
          local total = redis.call('HGET', totals_key, t[1]) or '0'
          redis.call('HSET', totals_key, t[1], add_decimal(total, t[2]))
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
      local history_key = base .. e.kh
      redis.call('LPUSH', history_key, e.h)
      redis.call('LTRIM', history_key, 0, history_max - 1)
      redis.call('SADD', base .. e.ks, e.a)
      redis.call('SADD', programs_key, e.p)
      applied = applied + 1
      if mode == 'mirror' then
        -- To the gateway process that waits for it (e.rc, its reply channel), else to all.
        redis.call('PUBLISH', e.rc or channel, e.r)
        -- To the account's live event streams (SSE), in journal order.
        redis.call('PUBLISH', prefix .. e.ke, e.h)
        local activity_key = prefix .. e.kc
        for _, field in ipairs(e.cf) do
          redis.call('HINCRBY', activity_key, field, 1)
        end
        if e.rq > 0 then
          redis.call('HINCRBY', activity_key, e.fp .. freshness_bucket(e.rq), 1)
        end
        if not counting[activity_key] then
          redis.call('EXPIRE', activity_key, activity_ttl)
          counting[activity_key] = true
        end
      end
    end
    stored = e.o
  end
end

local advance_to = tonumber(ARGV[8])
if advance_to > stored then
  stored = advance_to
end
redis.call('HSET', offsets_key, partition, stored)
return {'OK', generation, stored, applied}
