-- pipeline.lua: keep DEPTH requests in flight on every connection, as in
-- the TechEmpower plaintext test. wrk sends the DEPTH requests in one
-- write and counts each response it reads.
--
--   wrk -t1 -c64 -d10s -s bench/wrk/pipeline.lua http://127.0.0.1:PORT/ -- 16
init = function(args)
  local depth = tonumber(args[1]) or 16
  local r = {}
  for i = 1, depth do
    r[i] = wrk.format()
  end
  req = table.concat(r)
end

request = function()
  return req
end
