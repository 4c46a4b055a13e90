using Aio.Jobs.Redis.Internal;

namespace Aio.Jobs.Redis;

/// <summary>
/// The task queue's Lua scripts. Each is one atomic step on Redis. Keys are built from the queue's prefix P
/// (ARGV[1]) inside the scripts, so they need one Redis node (not a cluster):
/// <c>P s:0|1|2</c> the streams (low, normal, high priority), consumer group = ARGV[2];
/// <c>P j:ID</c> a job's hash (env, state, attempts, max, fence, prio, enq, error, result, owner, revoke);
/// <c>P h:ID</c> its history (list of "ms text"); <c>P delayed</c> a sorted set by due time (ms);
/// <c>P dead</c> the dead-letter stream; <c>P idem:KEY</c> idempotency keys; <c>P rate:WINDOW</c> rate counters;
/// <c>P bell</c> the workers' doorbell: a list of at most one element, pushed when work is queued that no idle worker
/// was handed, or when a delayed job became the next one due; an idle worker waits on it with BLPOP (Redis wakes one
/// blocked worker per push) and then runs a Take; <c>P idle</c> a sorted set of the workers waiting for work (score:
/// until when their registration holds, Redis time in ms), each with at least one free slot; <c>P inbox:CONSUMER</c>
/// a worker's hand-off list: an enqueue that finds an idle worker starts the oldest job for it right there and pushes
/// the started job (one string: stream, entry, id, attempt, fence, max, enq, now and env, a line each) to it, which
/// its BLPOP pops — one script between an enqueue and the job's start; <c>P wake:CONSUMER</c> lets a stopping worker
/// end its own wait (<see cref="Unblock"/>);
/// channels <c>P done</c> (a job finished), <c>P revoke</c> (revoke a running job).
/// Times are Redis's clock (TIME), the one clock every producer and worker shares.
/// </summary>
internal static class QueueScripts
{
    // The helpers every script shares, `now` still unset (Prelude sets it; an immediate enqueue takes its stream entry's time).
    private const string Functions = """
        local P = ARGV[1]
        local now
        local function clock()
          local t = redis.call('TIME')
          return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        end
        local function hist(id, text, hl)
          local k = P .. 'h:' .. id
          if redis.call('RPUSH', k, now .. ' ' .. text) > hl then
            redis.call('LTRIM', k, -hl, -1)
          end
        end
        local function ring()
          -- wakes one idle worker (its BLPOP pops the element); one element is enough: a worker's Take takes all it can
          -- and rings again if it filled its free slots
          if redis.call('RPUSH', P .. 'bell', '1') > 1 then
            redis.call('LTRIM', P .. 'bell', 0, 0)
          end
        end
        local function next_due(id)
          -- a job just put into the delayed set is the next one due: sleeping workers must shorten their wait
          if redis.call('ZRANGE', P .. 'delayed', 0, 0)[1] == id then
            ring()
          end
        end
        local function finish(id, ttl)
          redis.call('PEXPIRE', P .. 'j:' .. id, ttl)
          redis.call('PEXPIRE', P .. 'h:' .. id, ttl)
          redis.call('PUBLISH', P .. 'done', id)
        end

        """;

    private const string Prelude = Functions + """
        now = clock()

        """;

    /// <summary>
    /// ARGV: P, id, env, prio, max, delayMs, idemKey ('' none), idemTtlMs, histLen, resultTtlMs, group. Returns {1, id}
    /// or {0, existingId}. A job due now goes into its stream; if a worker is idle (<c>P idle</c>), the oldest new job of
    /// that stream (normally this one) is started for it here and pushed to its inbox, else the bell rings.
    /// </summary>
    public const string Enqueue = Functions + Start + """
        local id, prio, delay, hl, group = ARGV[2], tonumber(ARGV[4]), tonumber(ARGV[6]), tonumber(ARGV[9]), ARGV[11]
        if ARGV[7] ~= '' then
          local k = P .. 'idem:' .. ARGV[7]
          local existing = redis.call('GET', k)
          if existing then return {0, existing} end
          redis.call('SET', k, id, 'PX', ARGV[8])
        end
        local h = P .. 'j:' .. id
        if delay > 0 then
          now = clock()
          redis.call('HSET', h, 'env', ARGV[3], 'prio', prio, 'max', ARGV[5], 'attempts', 0, 'fence', 0, 'enq', now, 'state', 'scheduled', 'rttl', ARGV[10])
          redis.call('ZADD', P .. 'delayed', now + delay, id)
          hist(id, 'scheduled in ' .. delay .. ' ms', hl)
          next_due(id)
          return {1, id}
        end
        local s = P .. 's:' .. prio
        local entry = redis.call('XADD', s, '*', 'j', id)
        now = tonumber(string.match(entry, '^%d+'))   -- Redis's time, as TIME would say (the ids never go back)
        local w = idle_worker()
        if w then
          -- An idle worker's last Take left nothing queued, so the oldest new entry of this stream is normally this
          -- job. (A job handed back meanwhile, or one in a higher-priority stream, rang the bell: a worker takes it.)
          local r = redis.pcall('XREADGROUP', 'GROUP', group, w, 'COUNT', 1, 'STREAMS', s, '>')
          if type(r) == 'table' and r[1] then
            local e = r[1][2][1]
            if e[1] == entry then
              -- the usual case: this job, started for the idle worker as it is created
              redis.call('HSET', h, 'env', ARGV[3], 'prio', prio, 'max', ARGV[5], 'attempts', 1, 'fence', 1, 'enq', now,
                'state', 'running', 'rttl', ARGV[10], 'owner', w, 'entry', s .. ' ' .. entry, 'started', now)
              if redis.call('RPUSH', P .. 'h:' .. id, now .. ' queued', now .. ' started attempt 1 on ' .. w) > hl then
                redis.call('LTRIM', P .. 'h:' .. id, -hl, -1)
              end
              redis.call('RPUSH', P .. 'inbox:' .. w, record({s, entry, id, ARGV[3], 1, 1, tonumber(ARGV[5]), now, now}))
              return {1, id}
            end
            -- an older job goes first; this one waits for the next free worker
            local t = e[2] and start(s, e[1], e[2][2], 'started', group, w, hl)
            if t then
              redis.call('RPUSH', P .. 'inbox:' .. w, record(t))
            elseif not e[2] then
              drop(s, group, e[1])
            end
          end
        end
        redis.call('HSET', h, 'env', ARGV[3], 'prio', prio, 'max', ARGV[5], 'attempts', 0, 'fence', 0, 'enq', now, 'state', 'queued', 'rttl', ARGV[10])
        hist(id, 'queued', hl)
        ring()
        return {1, id}
        """;

    // start(s, entry, id, how, group, consumer, hl): a delivered stream entry becomes a running attempt of the consumer
    // (returns {s, entry, id, env, attempt, fence, max, enq, now}), or is dropped (done, revoked, unknown) or
    // dead-lettered (delivered again after its last attempt: its workers keep dying) and nil is returned.
    // idle_worker(): pops the idle worker whose registration lapses first, skipping lapsed ones (dead workers); nil if none.
    // record(t): a started job as one string for a worker's inbox.
    private const string Start = """
        local function drop(s, group, entry)
          redis.call('XACK', s, group, entry)
          redis.call('XDEL', s, entry)
        end
        local function start(s, entry, id, how, group, me, hl)
          local h = P .. 'j:' .. id
          local st = redis.call('HMGET', h, 'state', 'env', 'attempts', 'max', 'revoke', 'enq', 'rttl', 'fence', 'owner')
          if (not st[1]) or st[1] == 'succeeded' or st[1] == 'dead' or st[1] == 'revoked' then
            drop(s, group, entry)
            return nil
          end
          if st[5] == '1' then
            drop(s, group, entry)
            redis.call('HSET', h, 'state', 'revoked')
            hist(id, 'revoked', hl)
            finish(id, tonumber(st[7]))
            return nil
          end
          local attempts = tonumber(st[3]) + 1
          local fence = tonumber(st[8]) + 1
          if attempts > tonumber(st[4]) + 1 then
            drop(s, group, entry)
            local err = 'delivered again after its last attempt: the workers running it died or stalled past their lease'
            redis.call('HSET', h, 'state', 'dead', 'error', err, 'fence', fence)
            redis.call('XADD', P .. 'dead', '*', 'j', id, 'error', err, 'attempts', attempts - 1)
            hist(id, 'dead: ' .. err, hl)
            finish(id, tonumber(st[7]))
            return nil
          end
          if st[9] and st[9] ~= me and how == 'redelivered' then
            redis.call('DEL', P .. 'inbox:' .. st[9])   -- what was handed to the worker that died or stalled: stale now
          end
          redis.call('HSET', h, 'state', 'running', 'attempts', attempts, 'fence', fence, 'owner', me, 'entry', s .. ' ' .. entry, 'started', now)
          hist(id, how .. ' attempt ' .. attempts .. ' on ' .. me, hl)
          return {s, entry, id, st[2], attempts, fence, tonumber(st[4]), tonumber(st[6]), now}
        end
        local function idle_worker()
          while true do
            local w = redis.call('ZPOPMIN', P .. 'idle')
            if not w[1] then return nil end
            if tonumber(w[2]) >= now then return w[1] end
          end
        end
        -- a started job as one string for a worker's inbox: s, entry, id, attempt, fence, max, enq, now, then env (last:
        -- it may hold line breaks)
        local function record(t)
          return table.concat({t[1], t[2], t[3], t[5], t[6], t[7], t[8], t[9], t[4]}, '\n')
        end

        """;

    /// <summary>
    /// ARGV: P, group, consumer, histLen, want, rateLimit (0 none), ratePeriodMs, promoteLimit, idleMs (0: do not
    /// register). First collects the jobs enqueues handed to this worker (<c>P inbox:consumer</c>: those it still owns),
    /// then moves due delayed jobs into their streams, takes up to <c>want</c> more (highest priority first, within the
    /// rate limit) and starts them. Ends registered as idle for idleMs (<c>P idle</c>) if it has a free slot left and the
    /// queue has no rate limit, unregistered otherwise. Returns {rateWaitMs, nextDueMs (-1 none), {{s, entry, id, env,
    /// attempt, fence, max, enq, now}...}, {handed record...}}.
    /// </summary>
    public const string Take = Prelude + Start + Collect + """
        local group, me, hl = ARGV[2], ARGV[3], tonumber(ARGV[4])
        local out = {}
        local want = tonumber(ARGV[5])
        local handed = collect(me)
        want = want - #handed
        local nxt = redis.call('ZRANGE', P .. 'delayed', 0, 0, 'WITHSCORES')
        -- the first delayed job tells whether any is due (one call when none is) and, at the end, the next due time
        if nxt[2] and tonumber(nxt[2]) <= now then
          local due = redis.call('ZRANGEBYSCORE', P .. 'delayed', '-inf', now, 'LIMIT', 0, tonumber(ARGV[8]))
          for _, id in ipairs(due) do
            redis.call('ZREM', P .. 'delayed', id)
            local h = P .. 'j:' .. id
            local st = redis.call('HMGET', h, 'state', 'prio')
            if st[1] == 'scheduled' or st[1] == 'retrying' then
              redis.call('HSET', h, 'state', 'queued')
              redis.call('XADD', P .. 's:' .. st[2], '*', 'j', id)
              hist(id, 'queued', hl)
            end
          end
          nxt = redis.call('ZRANGE', P .. 'delayed', 0, 0, 'WITHSCORES')
        end
        local wait = 0
        local rk = nil
        local limit = tonumber(ARGV[6])
        if limit > 0 then
          local period = tonumber(ARGV[7])
          local window = math.floor(now / period)
          rk = P .. 'rate:' .. window
          local left = limit - tonumber(redis.call('GET', rk) or '0')
          if left < want then
            want = math.max(left, 0)
            wait = (window + 1) * period - now
          end
        end
        for prio = 2, 0, -1 do
          if #out >= want then break end
          local s = P .. 's:' .. prio
          local r = redis.call('XREADGROUP', 'GROUP', group, me, 'COUNT', want - #out, 'STREAMS', s, '>')
          if r then
            for _, e in ipairs(r[1][2]) do
              local t = e[2] and start(s, e[1], e[2][2], 'started', group, me, hl)
              if t then table.insert(out, t) elseif not e[2] then drop(s, group, e[1]) end
            end
          end
        end
        if want > 0 and #out >= want and wait == 0 then
          ring()   -- this worker's free slots are full: there may be more, for another worker (or for this one later)
        end
        if rk and #out > 0 then
          redis.call('INCRBY', rk, #out)
          redis.call('PEXPIRE', rk, tonumber(ARGV[7]) * 2)
        end
        if tonumber(ARGV[9]) > 0 and limit == 0 and #out < want then
          redis.call('ZADD', P .. 'idle', now + tonumber(ARGV[9]), me)
        else
          redis.call('ZREM', P .. 'idle', me)
        end
        local nextDue = -1
        if nxt[2] then nextDue = math.max(0, tonumber(nxt[2]) - now) end
        return {wait, nextDue, out, handed}
        """;

    // collect(me): empties the worker's inbox; returns the handed records it still owns (a record left from before a
    // crash or a stall may have been taken over since: its fencing token tells).
    private const string Collect = """
        local function collect(me)
          local k = P .. 'inbox:' .. me
          local recs = redis.call('LRANGE', k, 0, -1)
          if #recs == 0 then return recs end
          redis.call('DEL', k)
          local mine = {}
          for _, rec in ipairs(recs) do
            local f = {}
            for x in string.gmatch(rec, '[^\n]+') do
              f[#f + 1] = x
              if #f == 5 then break end
            end
            local st = redis.call('HMGET', P .. 'j:' .. f[3], 'state', 'owner', 'fence')
            if st[1] == 'running' and st[2] == me and st[3] == f[5] then table.insert(mine, rec) end
          end
          return mine
        end

        """;

    /// <summary>
    /// ARGV: P, consumer. A stopping worker unregisters and ends its own wait: its BLPOP also watches <c>P wake:consumer</c>
    /// (which expires in a minute; a worker starting under the same name deletes it: <see cref="Reset"/>).
    /// </summary>
    public const string Unblock = """
        local P, me = ARGV[1], ARGV[2]
        redis.call('ZREM', P .. 'idle', me)
        redis.call('RPUSH', P .. 'wake:' .. me, '1')
        redis.call('PEXPIRE', P .. 'wake:' .. me, 60000)
        return 1
        """;

    /// <summary>ARGV: P, consumer. A starting worker clears what a stop under its name may have left (<see cref="Unblock"/>).</summary>
    public const string Reset = """
        local P, me = ARGV[1], ARGV[2]
        redis.call('DEL', P .. 'wake:' .. me)
        return 1
        """;

    /// <summary>ARGV: P, consumer. A worker that stopped unregisters and takes what was handed to it meanwhile: returns {handed record...}.</summary>
    public const string Settle = Functions + Collect + """
        redis.call('ZREM', P .. 'idle', ARGV[2])
        return collect(ARGV[2])
        """;

    /// <summary>ARGV: P. Rings the bell again (a stopping worker's wait popped it).</summary>
    public const string Ring = Functions + """
        ring()
        return 1
        """;

    /// <summary>
    /// ARGV: P, group, consumer, histLen, minIdleMs, count. Takes over entries whose lease lapsed (XAUTOCLAIM) and starts
    /// them with a new fencing token; a worker that took any is no longer registered as idle (its free slots changed).
    /// Returns {{s, entry, id, env, attempt, fence, max, enq, now}...}.
    /// </summary>
    public const string Reclaim = Prelude + Start + """
        local group, me, hl = ARGV[2], ARGV[3], tonumber(ARGV[4])
        local out = {}
        for prio = 2, 0, -1 do
          local s = P .. 's:' .. prio
          if redis.call('EXISTS', s) == 1 then
            local r = redis.call('XAUTOCLAIM', s, group, me, ARGV[5], '0-0', 'COUNT', ARGV[6])
            for _, e in ipairs(r[2]) do
              local t = e[2] and start(s, e[1], e[2][2], 'redelivered', group, me, hl)
              if t then table.insert(out, t) elseif not e[2] then drop(s, group, e[1]) end
            end
          end
        end
        if #out > 0 then redis.call('ZREM', P .. 'idle', me) end
        return out
        """;

    /// <summary>ARGV: P, group, consumer, then (id, fence, stream, entry)... Renews the leases still held (XCLAIM resets the idle time); returns the ids whose lease was lost.</summary>
    public const string Renew = Prelude + """
        local group, me = ARGV[2], ARGV[3]
        local lost = {}
        for i = 4, #ARGV, 4 do
          local h = P .. 'j:' .. ARGV[i]
          local st = redis.call('HMGET', h, 'state', 'fence')
          if st[1] == 'running' and st[2] == ARGV[i + 1] then
            redis.call('XCLAIM', ARGV[i + 2], group, me, 0, ARGV[i + 3], 'JUSTID')
          else
            table.insert(lost, ARGV[i])
          end
        end
        return lost
        """;

    // The fencing check shared by the scripts that end an attempt: ARGV P, group, histLen, id, fence, stream, entry.
    private const string Owned = Prelude + """
        local group, hl, id, fence, s, entry = ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6], ARGV[7]
        local h = P .. 'j:' .. id
        local st = redis.call('HMGET', h, 'state', 'fence', 'rttl', 'attempts', 'max')
        if st[2] ~= fence then return 0 end

        """;

    /// <summary>
    /// ARGV: P, group, histLen, then (id, fence, stream, entry, resultJson) per job: the jobs of one worker that
    /// succeeded in one loop iteration. Returns per job 1: recorded; 0: refused (stale fencing token).
    /// </summary>
    public const string Succeed = Prelude + """
        local group, hl = ARGV[2], tonumber(ARGV[3])
        local out = {}
        for i = 4, #ARGV, 5 do
          local id, fence, s, entry = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
          local h = P .. 'j:' .. id
          local st = redis.call('HMGET', h, 'state', 'fence', 'rttl')
          local r = 0
          if st[2] == fence and st[1] == 'succeeded' then
            r = 1
          elseif st[2] == fence and st[1] == 'running' then
            redis.call('XACK', s, group, entry)
            redis.call('XDEL', s, entry)
            redis.call('HSET', h, 'state', 'succeeded', 'result', ARGV[i + 4], 'done', now)
            redis.call('HDEL', h, 'owner', 'entry')
            hist(id, 'succeeded', hl)
            finish(id, tonumber(st[3]))
            r = 1
          end
          out[#out + 1] = r
        end
        return out
        """;

    /// <summary>ARGV: P, group, histLen, id, fence, stream, entry, error, backoffMs. 1: retry scheduled; 2: dead-lettered; 0: refused.</summary>
    public const string Fail = Owned + """
        if st[1] ~= 'running' then return 0 end
        redis.call('XACK', s, group, entry)
        redis.call('XDEL', s, entry)
        redis.call('HDEL', h, 'owner', 'entry')
        if tonumber(st[4]) <= tonumber(st[5]) then
          redis.call('HSET', h, 'state', 'retrying', 'error', ARGV[8])
          redis.call('ZADD', P .. 'delayed', now + tonumber(ARGV[9]), id)
          hist(id, 'failed, retry in ' .. ARGV[9] .. ' ms: ' .. ARGV[8], hl)
          next_due(id)
          return 1
        end
        redis.call('HSET', h, 'state', 'dead', 'error', ARGV[8], 'done', now)
        redis.call('XADD', P .. 'dead', '*', 'j', id, 'error', ARGV[8], 'attempts', st[4])
        hist(id, 'dead: ' .. ARGV[8], hl)
        finish(id, tonumber(st[3]))
        return 2
        """;

    /// <summary>ARGV: P, group, histLen, id, fence, stream, entry. A running job was revoked and its scope cancelled: record it. 1 or 0 (refused).</summary>
    public const string Revoked = Owned + """
        if st[1] ~= 'running' then return 0 end
        redis.call('XACK', s, group, entry)
        redis.call('XDEL', s, entry)
        redis.call('HSET', h, 'state', 'revoked', 'done', now)
        redis.call('HDEL', h, 'owner', 'entry')
        hist(id, 'revoked while running', hl)
        finish(id, tonumber(st[3]))
        return 1
        """;

    /// <summary>ARGV: P, group, histLen, id, fence, stream, entry, prio. A stopping worker hands a job back: queued again, the attempt not counted. 1 or 0 (refused).</summary>
    public const string Release = Owned + """
        if st[1] ~= 'running' then return 0 end
        redis.call('XACK', s, group, entry)
        redis.call('XDEL', s, entry)
        redis.call('HSET', h, 'state', 'queued', 'attempts', tonumber(st[4]) - 1)
        redis.call('HDEL', h, 'owner', 'entry')
        redis.call('XADD', s, '*', 'j', id)
        hist(id, 'handed back by a stopping worker', hl)
        ring()
        return 1
        """;

    /// <summary>ARGV: P, id, histLen. Revokes a job: 1 revoked before it ran; 2 running (the worker is told); 0 already finished or unknown.</summary>
    public const string Revoke = Prelude + """
        local id, hl = ARGV[2], tonumber(ARGV[3])
        local h = P .. 'j:' .. id
        local st = redis.call('HMGET', h, 'state', 'rttl')
        if st[1] == 'queued' or st[1] == 'scheduled' or st[1] == 'retrying' then
          redis.call('ZREM', P .. 'delayed', id)
          redis.call('HSET', h, 'state', 'revoked', 'revoke', '1', 'done', now)
          hist(id, 'revoked', hl)
          finish(id, tonumber(st[2]))
          return 1
        end
        if st[1] == 'running' then
          redis.call('HSET', h, 'revoke', '1')
          hist(id, 'revoke requested', hl)
          redis.call('PUBLISH', P .. 'revoke', id)
          return 2
        end
        return 0
        """;

    /// <summary>ARGV: P, group. Returns {queued0, queued1, queued2, running, delayed, dead}.</summary>
    public const string Stats = """
        local P, group = ARGV[1], ARGV[2]
        local out = {}
        local running = 0
        for prio = 0, 2 do
          local s = P .. 's:' .. prio
          local len = redis.call('XLEN', s)
          local pending = 0
          if len > 0 then
            local ok, info = pcall(redis.call, 'XPENDING', s, group)
            if ok then pending = info[1] end
          end
          running = running + pending
          table.insert(out, len - pending)
        end
        table.insert(out, running)
        table.insert(out, redis.call('ZCARD', P .. 'delayed'))
        table.insert(out, redis.call('XLEN', P .. 'dead'))
        return out
        """;

    /// <summary>
    /// ARGV: P, id, histLen. A dead job goes back to its stream with its attempts reset (its record no longer expires)
    /// and its dead-letter entries are removed. Returns 1, 0 if the job is not dead, -1 if it is unknown (expired).
    /// </summary>
    public const string RetryDead = Prelude + """
        local id, hl = ARGV[2], tonumber(ARGV[3])
        local h = P .. 'j:' .. id
        local st = redis.call('HMGET', h, 'state', 'prio')
        if not st[1] then return -1 end
        if st[1] ~= 'dead' then return 0 end
        redis.call('PERSIST', h)
        redis.call('PERSIST', P .. 'h:' .. id)
        redis.call('HSET', h, 'state', 'queued', 'attempts', 0)
        redis.call('HDEL', h, 'error', 'done')
        local entries = redis.call('XRANGE', P .. 'dead', '-', '+')
        for _, e in ipairs(entries) do
          local f = e[2]
          for i = 1, #f, 2 do
            if f[i] == 'j' and f[i + 1] == id then redis.call('XDEL', P .. 'dead', e[1]) end
          end
        end
        redis.call('XADD', P .. 's:' .. st[2], '*', 'j', id)
        hist(id, 'retried by hand after it was dead', hl)
        ring()
        return 1
        """;

    /// <summary>The scripts sent over a queue's loop-native command connection (Internal/QueueCommands), with their SHA-1s.</summary>
    public static readonly ScriptText EnqueueScript = new(Enqueue), ResetScript = new(Reset), ReclaimScript = new(Reclaim),
        RenewScript = new(Renew), SucceedScript = new(Succeed), FailScript = new(Fail), RevokedScript = new(Revoked),
        ReleaseScript = new(Release), UnblockScript = new(Unblock), SettleScript = new(Settle), RingScript = new(Ring);
}
