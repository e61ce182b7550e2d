-- Tables in the manner of Lua's nextvar.lua: array and hash parts growing and shrinking, next/pairs/
-- ipairs, the length operator, table.insert/remove, nested tables and closures as values.
local N = tonumber(arg and arg[1]) or 10000
local t = {}
for i = 1, N do t[i] = i * 2 end
for i = 1, N // 3 do table.remove(t) end
for i = 1, 200 do table.insert(t, 1 + i % #t, i) end
local h = {}
for i = 1, N do h['k' .. (i % 5000)] = (h['k' .. (i % 5000)] or 0) + i end
local s = 0
for k, v in pairs(h) do s = s + #k + v % 97 end
for i, v in ipairs(t) do s = s + v % (i + 1) end
local objs = {}
for i = 1, N // 3 do
  local o = { n = i, tag = 'o' .. i % 10 }
  o.get = function() return o.n * 2 end
  objs[i] = o
end
local g = 0
for _, o in ipairs(objs) do g = g + o.get() + #o.tag end
local cnt = 0
local k = next(h)
while k do cnt = cnt + 1; k = next(h, k) end
print(#t, s, g, cnt)
