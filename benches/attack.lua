-- wrk script for `benches/load.sh attack`: forwarded headers carrying crafted chains.
--
--   wrk ... -s benches/attack.lua URL -- CHAINS MODE DELAY_MS
--
-- CHAINS: the three lines printed by examples/attack_chains.rs (a header value, then
-- the same value cut in two around eight varying base64 characters).
-- MODE: `repeat` sends the first line on every request (answered by the failure
-- memory after the first); `distinct` puts a per-request counter between the two
-- halves, so every request carries a chain never seen before (each one verified).
-- DELAY_MS: pause per connection between requests (0: as fast as the server answers).
-- At the end prints `attack: <requests> <status>=<count> ...`.

local threads = {}
local next_id = 0

function setup(thread)
    thread:set("id", next_id)
    next_id = next_id + 1
    table.insert(threads, thread)
end

local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local header_name = "x-ssl-client-cert"
local mode, prefix, suffix, pause
local counter = 0
statuses = {}

-- Eight base64 characters for n (48 bits), most significant first.
local function encode(n)
    local out = {}
    for i = 8, 1, -1 do
        local d = n % 64
        out[i] = alphabet:sub(d + 1, d + 1)
        n = (n - d) / 64
    end
    return table.concat(out)
end

function init(args)
    local lines = {}
    for line in io.lines(args[1]) do
        table.insert(lines, line)
    end
    assert(#lines == 3, "attack.lua: the chains file must have three lines")
    mode = args[2]
    assert(mode == "repeat" or mode == "distinct", "attack.lua: mode is repeat or distinct")
    pause = tonumber(args[3] or "0")
    if mode == "repeat" then
        wrk.headers[header_name] = lines[1]
    else
        prefix, suffix = lines[2], lines[3]
        -- Threads count in disjoint ranges.
        counter = id * 2 ^ 40
    end
end

function request()
    if mode == "repeat" then
        return wrk.format()
    end
    counter = counter + 1
    return wrk.format(nil, nil, { [header_name] = prefix .. encode(counter) .. suffix })
end

function delay()
    return pause
end

function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
    local total = {}
    for _, thread in ipairs(threads) do
        for status, n in pairs(thread:get("statuses")) do
            total[status] = (total[status] or 0) + n
        end
    end
    local parts = {}
    for status, n in pairs(total) do
        table.insert(parts, status .. "=" .. n)
    end
    table.sort(parts)
    io.write(string.format("attack: %d %s\n", summary.requests, table.concat(parts, " ")))
end
