-- Creates invitations through the Invitations form, one unique address per request,
-- and counts the answers: 303 (invited, then sent to the Invitations page) or other.
-- Arguments: a prefix unique to the run, then the session's CSRF token.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  prefix = args[1]
  csrf = args[2]
  sent = 0
  invited = 0
  other = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
  sent = sent + 1
  local body = "csrf_token=" .. csrf .. "&role=member&emails=" .. prefix .. "-" .. tid .. "-" .. sent .. "%40bench.example"
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status == 303 then
    invited = invited + 1
  else
    other = other + 1
    if first_other == nil then
      first_other = status .. " " .. string.sub(body, 1, 200):gsub("%s+", " ")
    end
  end
end

function done(summary, latency, requests)
  local ok, bad = 0, 0
  for _, thread in ipairs(threads) do
    ok = ok + thread:get("invited")
    bad = bad + thread:get("other")
  end
  io.write(string.format("roster-bench: invited=%d other=%d\n", ok, bad))
  for _, thread in ipairs(threads) do
    local first = thread:get("first_other")
    if first then
      io.write("roster-bench-first-other: " .. first .. "\n")
    end
  end
end
