-- Control structures and operators in the manner of Lua's constructs.lua: loops of every kind,
-- integer and float arithmetic, comparisons, and/or chains, goto, varargs. Prints a checksum.
local N = tonumber(arg and arg[1]) or 60000
local sum, fsum = 0, 0.0
for i = 1, N do
  local x = i % 7
  if x == 0 then sum = sum + i
  elseif x < 3 and i % 2 == 0 then sum = sum - x
  else sum = sum ~ (i << 1) end
  fsum = fsum + i / 3.0 - (i // 5) * 0.5
end
local k, w = 0, 0
while k < N do k = k + 3; w = w + (k & 255) end
repeat k = k - 7; w = w ~ k until k < 0
local function va(...)
  local s = select('#', ...)
  for j = 1, s do s = s + (select(j, ...)) end
  return s
end
for i = 1, N // 10 do w = w + va(i, i + 1, i + 2) end
local t = 0
for i = 1, N // 4 do
  local a, b = i % 13, i % 17
  t = t + ((a > b and a or b) + (a ~= b and 1 or 0) + ((a <= b) and 2 or 3))
  if a == 5 then goto continue end
  t = t + a * b
  ::continue::
end
print(sum, string.format('%.3f', fsum), w, t)
