-- The counters of RedisLimiter: one script call per operation, so each is atomic and
-- costs one round-trip. Semantics are those of gatehouse.guard.limiter.Limiter, which
-- MemoryLimiter mirrors; the tests run the same cases on both.
--
-- Time is Redis's own (TIME) in integer microseconds: every replica shares one clock and
-- no score is rounded (1.8e15 is far inside a double's exact integers).
--
-- ARGV: op ("admit" | "settle" | "release" | "spend" | "seed"), request id, tokens, cost (micro-USD;
--       seed: the spent to restore), lease us, late-settle us,
--       then every rule in one string, three space-separated fields per rule:
--       "kind limit window-us kind limit window-us ..." (budget window: until the period
--       ends, 0 = never). One string the caller encodes once per rule set beats three
--       arguments per rule, each packed by the client on every call.
-- KEYS: one per rule, in order: the rule's base name. Its counters are that name plus a
--       suffix per part (PARTS below); the script builds those names itself, which a
--       single Redis allows and Redis Cluster does not (see redis_limiter.py).
--   requests    :req                         zset id -> entry time
--   tokens      :tok, :tok:val, :tok:late,   log: zset id -> entry time
--               :tok:sum                     val: hash id -> "r<weight>" unsettled | "s<weight>" settled
--                                            late: zset id -> forget time, unsettled entries that left the window
--                                            sum: integer, the weights in the window
--   concurrent  :conc                        zset id -> lease end
--   budget      :bud:lease, :bud:val,        log: zset id -> lease end; val: hash id -> reserved cost
--               :bud:late, :bud:reserved,    late: zset id -> forget time, reservations whose lease ended unsettled
--               :bud:spent                   sum: integer reserved by live leases; spent: integer micro-USD
-- Every write extends its keys' TTL to the end of what they hold (never shortening it),
-- so an idle counter disappears by itself; a budget's spent expires at the period's end.

local op = ARGV[1]
local id = ARGV[2]
local tokens = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local lease = tonumber(ARGV[5])
local grace = tonumber(ARGV[6])

local BATCH = 256 -- ids per command, well under Lua's unpack limit
local NOMINAL_RETRY = 1000000
local NEVER = -1

local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])

local function num(x) return string.format('%.17g', x) end -- tostring would round to 14 digits
local function int(v) return tonumber(v) or 0 end -- GET of a missing key is false
local function weight(v) return tonumber(string.sub(v, 2)) end
local function is_settled(v) return string.byte(v) == 115 end -- "s"

-- Never shortens a TTL. GT alone can't set a first one (no TTL counts as infinite); NX can.
local function extend(key, us)
  local want = math.ceil(us / 1000)
  if redis.call('PEXPIRE', key, want, 'GT') == 0 then
    redis.call('PEXPIRE', key, want, 'NX')
  end
end

-- A running sum: a key exists only while it is non-zero.
local function add(key, delta, ttl)
  if delta ~= 0 then
    if redis.call('INCRBY', key, num(delta)) == 0 then
      redis.call('DEL', key)
    else
      extend(key, ttl)
    end
  end
end

local function ids_of(page, step)
  local ids = {}
  for j = 1, #page, step do ids[#ids + 1] = page[j] end
  return ids
end

-- Key suffixes of each kind's counters, as log, val, late, sum, spent.
local PARTS = {
  requests = { ':req' },
  tokens = { ':tok', ':tok:val', ':tok:late', ':tok:sum' },
  concurrent = { ':conc' },
  budget = { ':bud:lease', ':bud:val', ':bud:late', ':bud:reserved', ':bud:spent' },
}

local rules = {}
for kind, limit, window in string.gmatch(ARGV[7], '(%S+) (%S+) (%S+)') do
  local base, parts = KEYS[#rules + 1], PARTS[kind]
  if not parts then return redis.error_reply('unknown kind ' .. kind) end
  local r = { kind = kind, limit = tonumber(limit), window = tonumber(window) }
  r.log = base .. parts[1]
  if parts[2] then
    r.val, r.late, r.sum = base .. parts[2], base .. parts[3], base .. parts[4]
    if parts[5] then r.spent = base .. parts[5] end
  end
  rules[#rules + 1] = r
end

-- Unsettled records nobody settled within the grace: forget them.
local function forget(r)
  while true do
    local ids = redis.call('ZRANGEBYSCORE', r.late, '-inf', num(now), 'LIMIT', 0, BATCH)
    if #ids == 0 then return end
    redis.call('HDEL', r.val, unpack(ids))
    redis.call('ZREM', r.late, unpack(ids))
    if #ids < BATCH then return end
  end
end

-- Move what stopped counting (by `upto`) out of the log: subtract it from the sum and keep
-- what is unsettled in `late` until `ends + after`.
local function retire(r, upto, after, unsettled)
  local gone, moved = 0, false
  while true do
    local page = redis.call('ZRANGEBYSCORE', r.log, '-inf', num(upto), 'WITHSCORES', 'LIMIT', 0, BATCH)
    if #page == 0 then break end
    local ids = ids_of(page, 2)
    local vals = redis.call('HMGET', r.val, unpack(ids))
    for j, rid in ipairs(ids) do
      local v = vals[j]
      if v then
        local amount, keep = unsettled(v)
        gone = gone + amount
        if keep then
          redis.call('ZADD', r.late, num(tonumber(page[2 * j]) + after), rid)
          moved = true
        else
          redis.call('HDEL', r.val, rid)
        end
      end
    end
    redis.call('ZREM', r.log, unpack(ids))
    if #ids < BATCH then break end
  end
  add(r.sum, -gone, grace)
  if moved then extend(r.late, grace) end
  forget(r)
  if redis.call('ZCARD', r.log) == 0 then redis.call('DEL', r.sum) end -- nothing to sum
end

local function token_entry(v) return weight(v), not is_settled(v) end
local function reservation(v) return tonumber(v), true end

local function prune(r)
  if r.kind == 'requests' then
    redis.call('ZREMRANGEBYSCORE', r.log, '-inf', num(now - r.window))
  elseif r.kind == 'tokens' then
    retire(r, now - r.window, r.window + grace, token_entry)
  elseif r.kind == 'concurrent' then
    redis.call('ZREMRANGEBYSCORE', r.log, '-inf', num(now))
  else
    retire(r, now, grace, reservation)
  end
end

-- What the rule holds now (after pruning): r.used, and a budget's r.spent_now.
local function load(r)
  if r.kind == 'tokens' then
    r.used = int(redis.call('GET', r.sum))
  elseif r.kind == 'budget' then
    r.spent_now = int(redis.call('GET', r.spent))
    r.used = r.spent_now + int(redis.call('GET', r.sum))
  else
    r.used = redis.call('ZCARD', r.log)
  end
end

local function holds(r)
  if r.kind == 'tokens' or r.kind == 'budget' then
    return redis.call('HEXISTS', r.val, id) == 1
  end
  return redis.call('ZSCORE', r.log, id) ~= false
end

-- nil when the rule admits the call, else the retry-after in us (NEVER: it never will).
local function check(r)
  if r.kind == 'requests' then
    local n = r.used
    if n + 1 <= r.limit then return nil end
    if r.limit < 1 then return NEVER end
    local oldest = redis.call('ZRANGE', r.log, n - r.limit, n - r.limit, 'WITHSCORES')
    return tonumber(oldest[2]) + r.window - now
  elseif r.kind == 'tokens' then
    local sum = r.used
    if sum + tokens <= r.limit then return nil end
    if tokens > r.limit then return NEVER end
    local need, freed, start = sum + tokens - r.limit, 0, 0
    while true do
      local page = redis.call('ZRANGE', r.log, start, start + BATCH - 1, 'WITHSCORES')
      if #page == 0 then return NEVER end -- unreachable: sum is the sum of the entries
      local vals = redis.call('HMGET', r.val, unpack(ids_of(page, 2)))
      for j, v in ipairs(vals) do
        if v then freed = freed + weight(v) end
        if freed >= need then return tonumber(page[2 * j]) + r.window - now end
      end
      start = start + BATCH
    end
  elseif r.kind == 'concurrent' then
    if r.used + 1 <= r.limit then return nil end
    if r.limit < 1 then return NEVER end
    return NOMINAL_RETRY
  else
    local spent, limit = r.spent_now, r.limit
    if spent < limit and r.used + cost <= limit then return nil end
    if cost > limit then return NEVER end
    if spent >= limit or spent + cost > limit then
      if r.window > 0 then return r.window end
      return NEVER
    end
    return NOMINAL_RETRY
  end
end

local function record(r)
  if r.kind == 'requests' then
    redis.call('ZADD', r.log, num(now), id)
    redis.call('PEXPIRE', r.log, math.ceil(r.window / 1000))
  elseif r.kind == 'tokens' then
    local ttl = r.window + grace
    redis.call('ZADD', r.log, num(now), id)
    redis.call('HSET', r.val, id, 'r' .. ARGV[3])
    extend(r.log, ttl)
    extend(r.val, ttl)
    add(r.sum, tokens, ttl)
  elseif r.kind == 'concurrent' then
    redis.call('ZADD', r.log, num(now + lease), id)
    extend(r.log, lease)
  else
    local ttl = lease + grace
    redis.call('ZADD', r.log, num(now + lease), id)
    redis.call('HSET', r.val, id, ARGV[4])
    extend(r.log, ttl)
    extend(r.val, ttl)
    add(r.sum, cost, ttl)
  end
end

local function newest_ends(r)
  local newest = redis.call('ZRANGE', r.log, -1, -1, 'WITHSCORES')
  if #newest == 0 then return 0 end
  return tonumber(newest[2]) + r.window - now
end

-- Appends (used, reset us) of the rule to `out`, from what load() read and this call added.
local function usage(r, recorded, out)
  local used, reset = r.used, 0
  if r.kind == 'budget' then
    reset = r.window
    if recorded then used = used + cost end
  elseif r.kind == 'concurrent' then
    if recorded then used = used + 1 end
  elseif recorded then -- the new entry is the newest
    used, reset = used + (r.kind == 'tokens' and tokens or 1), r.window
  else
    reset = newest_ends(r)
  end
  out[#out + 1] = used
  out[#out + 1] = reset
end

local function settle(r)
  if r.kind == 'concurrent' then
    redis.call('ZREM', r.log, id)
    return
  elseif r.kind == 'requests' then
    return
  end
  prune(r)
  local v = redis.call('HGET', r.val, id)
  if not v then return end -- settled already, or forgotten
  if r.kind == 'tokens' then
    local ttl = r.window + grace
    if redis.call('ZSCORE', r.log, id) then
      if not is_settled(v) then
        redis.call('HSET', r.val, id, 's' .. ARGV[3])
        add(r.sum, tokens - weight(v), ttl)
      end
      return
    end
    -- It left the window unsettled: charge only the excess, as an entry at now.
    redis.call('ZREM', r.late, id)
    local excess = tokens - weight(v)
    if excess > 0 and not is_settled(v) then
      redis.call('ZADD', r.log, num(now), id)
      redis.call('HSET', r.val, id, 's' .. string.format('%d', excess))
      extend(r.log, ttl)
      extend(r.val, ttl)
      add(r.sum, excess, ttl)
    else
      redis.call('HDEL', r.val, id)
    end
  else
    if redis.call('ZREM', r.log, id) == 1 then
      add(r.sum, -tonumber(v), grace)
    else
      redis.call('ZREM', r.late, id)
    end
    redis.call('HDEL', r.val, id)
    if cost > 0 then
      redis.call('INCRBY', r.spent, ARGV[4])
      if r.window > 0 then redis.call('PEXPIRE', r.spent, math.ceil(r.window / 1000)) end
    end
  end
end

-- Weight (or cost) in the log up to `upto`, summed without changing anything.
local function weight_upto(r, upto, amount)
  local total, offset = 0, 0
  while true do
    local page = redis.call('ZRANGEBYSCORE', r.log, '-inf', upto, 'LIMIT', offset, BATCH)
    if #page == 0 then return total end
    for _, v in ipairs(redis.call('HMGET', r.val, unpack(page))) do
      if v then total = total + amount(v) end
    end
    if #page < BATCH then return total end
    offset = offset + BATCH
  end
end

-- Read-only: (used now, 0), or a budget's (spent, live reserved).
local function spend(r, out)
  local a, b = 0, 0
  if r.kind == 'requests' then
    a = redis.call('ZCOUNT', r.log, '(' .. num(now - r.window), '+inf')
  elseif r.kind == 'concurrent' then
    a = redis.call('ZCOUNT', r.log, '(' .. num(now), '+inf')
  elseif redis.call('ZCARD', r.log) > 0 then
    local held = int(redis.call('GET', r.sum))
    if r.kind == 'tokens' then
      a = held - weight_upto(r, num(now - r.window), weight)
    else
      b = held - weight_upto(r, num(now), tonumber)
    end
  end
  if r.kind == 'budget' then a = int(redis.call('GET', r.spent)) end
  out[#out + 1] = a
  out[#out + 1] = b
end

if op == 'admit' then
  local held = {}
  for i, r in ipairs(rules) do
    prune(r)
    load(r)
    held[i] = holds(r)
  end
  for i, r in ipairs(rules) do
    local retry = nil
    if not held[i] then retry = check(r) end
    if retry then
      local out = { 0, i, retry }
      for _, each in ipairs(rules) do usage(each, false, out) end
      return out
    end
  end
  local out = { 1, 0, NEVER }
  for i, r in ipairs(rules) do
    if not held[i] then record(r) end
    usage(r, not held[i], out)
  end
  return out
elseif op == 'settle' then
  for _, r in ipairs(rules) do settle(r) end
  return 0
elseif op == 'release' then -- settle with nothing used, and take back requests entries
  for _, r in ipairs(rules) do
    if r.kind == 'requests' then redis.call('ZREM', r.log, id) else settle(r) end
  end
  return 0
elseif op == 'spend' then
  local out = {}
  for _, r in ipairs(rules) do spend(r, out) end
  return out
elseif op == 'seed' then
  local r = rules[1]
  if cost > int(redis.call('GET', r.spent)) then
    redis.call('SET', r.spent, ARGV[4], 'KEEPTTL')
    if r.window > 0 then redis.call('PEXPIRE', r.spent, math.ceil(r.window / 1000)) end
  end
  return 0
end
return redis.error_reply('unknown op ' .. tostring(op))
