-- table.sort with and without a comparator, as Lua's sort.lua checks it, on numbers from a
-- deterministic generator, plus a check that the result is ordered. Prints a checksum.
local N = tonumber(arg and arg[1]) or 8000
local seed = 12345
local function rnd()
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed
end
local a, b = {}, {}
for i = 1, N do a[i] = rnd() % 100000; b[i] = { key = rnd() % 1000, id = i } end
table.sort(a)
for i = 2, N do assert(a[i - 1] <= a[i]) end
table.sort(b, function(x, y) if x.key ~= y.key then return x.key > y.key end return x.id < y.id end)
local c = 0
for i = 1, N, 17 do c = (c * 7 + a[i] + b[i].key * 3 + b[i].id) % 1000000007 end
local fl = {}
for i = 1, N // 2 do fl[i] = (rnd() % 10000) / 7.0 end
table.sort(fl, function(x, y) return x > y end)
print(a[1], a[N], b[1].key, c, string.format('%.4f', fl[1]))
