-- String library work in the manner of Lua's strings.lua: format, rep, sub, find, gsub, byte/char,
-- upper/lower, concatenation through tables. Prints a checksum.
local N = tonumber(arg and arg[1]) or 6000
local parts = {}
for i = 1, N do
  parts[#parts + 1] = string.format('%d:%s:%5.2f;', i, string.rep('ab', i % 5), i / 7)
end
local s = table.concat(parts)
local count = 0
for w in s:gmatch('(%d+):') do count = count + #w end
local replaced, n = s:gsub('ab', 'X')
local h = 0
for i = 1, #replaced, 97 do h = (h * 31 + replaced:byte(i)) % 1000003 end
local up = s:sub(1, 5000):upper():lower()
local found = 0
local pos = 1
while true do
  local a, b = s:find('1%d%d:', pos)
  if not a then break end
  found = found + 1
  pos = b + 1
end
local rev = {}
for i = 1, 2000 do rev[i] = string.char(65 + i % 26) end
print(#s, count, n, h, #up, found, table.concat(rev):reverse():sub(1, 10))
