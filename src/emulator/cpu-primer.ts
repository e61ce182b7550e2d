// The interpreter's feedback primer: a short i386 program (test/cpu-primer.S; test/cpu-primer checks
// these bytes are what it assembles to) that the interpreter runs once per process, on a scratch
// address space, after the guests' first PRIME_AFTER instructions. Why: V8 optimises the interpreter's loop (Cpu.steps and the
// helpers it inlines) from the type feedback of what has run so far, and compiles every path that has
// not run yet as a deoptimisation. A guest that first reaches such a path (its first x87 instruction,
// its first `movsx` from a register, its first system call...) after the loop was optimised throws
// the optimised loop away: the loop then runs unoptimised (5-20x slower) until V8 has recompiled it,
// which takes 50-200 ms of a busy machine. Sessions saw the loop recompiled up to 12 times per run and
// the same build take 9-16 s on SQLite. After the primer every path has feedback, so the loop is
// compiled once. Guarantees: the primer touches nothing but its own Memory, CodeCache and Cpu (released
// afterwards), never calls a host but its own, and changes no guest-visible state or count.

/**
 * Where the primer's code, data (five pages: the third never written, the fourth written once, the
 * fifth watched) and stack are. Data and stack lie above 2^31, where a guest's stack is: a field
 * that keeps an address then holds a large number in the primer already (V8 changes the field's
 * representation, and drops the code that relied on it, the first time that happens).
 */
export const PRIMER_CODE = 0x10000;
export const PRIMER_DATA = 0xbff00000;
export const PRIMER_DATA_PAGES = 5;
/** The watched word (its page's reads take the accessors' slow path). */
export const PRIMER_WATCHED = PRIMER_DATA + 0x4800;
export const PRIMER_STACK_TOP = 0xbff10000;
/**
 * Interpreted instructions before the primer runs. V8 optimises the loop after about 2,000
 * instructions (it weighs each pass by the loop's whole size), so the guest's own instructions and
 * the primer's (about 800) must stay below that. And not 0: a function records feedback only once it
 * has run a while (V8 allocates feedback lazily), which the guest's first instructions see to for
 * the loop and its common helpers; and a guest shorter than this never pays for the primer.
 */
export const PRIME_AFTER = 600;

/** The program's bytes (hex), assembled from test/cpu-primer.S with `as --32`. */
const HEX = [
  'bb0000f0bfb903000000ba34120000b801000080be0001f0bfbf0002f0bf89e5894b048b4b048d548b04678d10658b53',
  '08648b5308884b03886b038a53038a7303c7430805000000c64303050fb653030fb753020fbe53030fbf53020fb6c20f',
  'b6c60fb7c20fbec20fbec60fbfc289ca8bd188ce88ea8af18ad5c7c205000000c6c205b21266ba34126689ca66895302',
  '668b530266c743020700a11000f0bfa31000f0bfa01000f0bfa21000f0bf525a545c68452301006a05ff73048f43045a',
  '5a6652665a424a6642664a99669998669887ca874b049286ce0fca90fcf8f9f59f9e9c9d666a05669dd78b5305895305',
  '8b15fe0ff0bf8915fe0ff0bf668b15ff0ff0bf668915ff0ff0bf668b15fd0ff0bf668915fd0ff0bf8b150020f0bf8b15',
  '0120f0bf0fb7150120f0bf0fb6150120f0bf894b018b4b01014b0183430105837b0105034b01854b01c7430105000000',
  '83050030f0bf058b150040f0bf0fb6150140f0bf03150040f0bf83ec01525ae802000000eb01c383c401f9014b040353',
  '0881430c4523010083430c058043100701ca03d181c24523010083c20580c20780c60704070545230100004b14025314',
  '00ce02d566014b0266053412f9094b040b5308814b0c45230100834b0c05804b100709ca0bd181ca4523010083ca0580',
  'ca0780ce070c070d45230100084b140a531408ce0ad566094b02660d3412f9114b0413530881530c4523010083530c05',
  '8053100711ca13d181d24523010083d20580d20780d60714071545230100104b1412531410ce12d566114b0266153412',
  'f9194b041b5308815b0c45230100835b0c05805b100719ca1bd181da4523010083da0580da0780de071c071d45230100',
  '184b141a531418ce1ad566194b02661d3412f9214b0423530881630c4523010083630c058063100721ca23d181e24523',
  '010083e20580e20780e60724072545230100204b1422531420ce22d566214b0266253412f9294b042b5308816b0c4523',
  '0100836b0c05806b100729ca2bd181ea4523010083ea0580ea0780ee072c072d45230100284b142a531428ce2ad56629',
  '4b02662d3412f9314b0433530881730c4523010083730c058073100731ca33d181f24523010083f20580f20780f60734',
  '073545230100304b1432531430ce32d566314b0266353412f9394b043b5308817b0c45230100837b0c05807b100739ca',
  '3bd181fa4523010083fa0580fa0780fe073c073d45230100384b143a531438ce3ad566394b02663d3412854b0485ca84',
  'ce844b04a801a90001000066a90001f7c205000000f7430405000000f64304056685caf7d2f75304f6d666f75302f7da',
  'f75b04f6da66f7dabaffffff7f01ca700072007400760078007a007c007e0029ca700072007400760078007a007c007e',
  '0021ca700072007400760078007a007c007e0042700072007400760078007a007c007e004a700072007400760078007a',
  '007c007e00d1e2700072007400760078007a007c007e009c9d700072007400760078007a007c007e00710073000f95c2',
  '0f9f43030f4cd10f46530439c90f44d10f4453040f94c2b903000000c1c203d1c2d3c2c0c603d0c2d2c2c0c209c14304',
  '03d14304d2430366c1c20366c1c21166d34302c1c200c1c21fc1ca03d1cad3cac0ce03d0cad2cac0ca09c14b0403d14b',
  '04d24b0366c1ca0366c1ca1166d34b02c1ca00c1ca1fc1d203d1d2d3d2c0d603d0d2d2d2c0d209c1530403d15304d253',
  '0366c1d20366c1d21166d35302c1d200c1d21fc1da03d1dad3dac0de03d0dad2dac0da09c15b0403d15b04d25b0366c1',
  'da0366c1da1166d35b02c1da00c1da1fc1e203d1e2d3e2c0e603d0e2d2e2c0e209c1630403d16304d2630366c1e20366',
  'c1e21166d36302c1e200c1e21fc1ea03d1ead3eac0ee03d0ead2eac0ea09c16b0403d16b04d26b0366c1ea0366c1ea11',
  '66d36b02c1ea00c1ea1fc1fa03d1fad3fac0fe03d0fad2fac0fa09c17b0403d17b04d27b0366c1fa0366c1fa1166d37b',
  '02c1fa00c1fa1fc1f2030fa4ca030facca030fa54b040fad4b04660fa4ca03660facca030fa3ca0fa34b040fbae2030f',
  'ba630403660fa3ca0fabca0fab4b040fbaea030fba6b0403660fabca0fb3ca0fb34b040fbaf2030fba730403660fb3ca',
  '0fbbca0fbb4b040fbafa030fba7b0403660fbbca0fbcc20fbdc20fc1ca0fc14b040fb1ca0fb14b040fb0caf0ff43046b',
  'd10569d1452301000fafd10faf53046b53040569d1ffffff7f660fafd1666bd105b907000000c7430407000000b86400',
  '0000f7e1b89cfffffff76304b864000000f6e1f6630466f7e166f76304b8ffffff7ff7e1b864000000f7e9b89cffffff',
  'f76b04b864000000f6e9f66b0466f7e966f76b04b8ffffff7ff7e931d2b864000000f7f131d2b864000000f77304ba01',
  '00000031c0f7f1b864000000f6f1b864000000f6730431d2b86400000066f7f131d266f7730431d2b864000000f7f931',
  'd2b864000000f77b04ba0100000031c0f7f9b864000000f6f9b864000000f67b0431d2b86400000066f7f931d266f77b',
  '04b89cffffff99f7f9bafeffffffb89cfffffff77b04ff4304ff4b04fe4303fe4b03fec2fece66ff4302ffc2ffcae800',
  '000000588d9009000000ffd2598d9016000000895304ff5304598d901f000000ffe28d902b000000895304ff6304fff2',
  'ff73045a5ae802000000eb01c352e802000000eb03c20400eb00e9000000005589e583ec08c9c8080000c9c8080002c9',
  '6061661e661f1e078cda8ec2e300b902000000e2feb902000000e0fe0fa2bb0000f0bfbe0001f0bfbf0002f0bfa4a566',
  'a5aaab66abacad66ada6a7aeaf64acb908000000f3a4b908000000f3a5b90800000066f3a5b908000000f3aab9080000',
  '00f3abbe0001f0bfbf0001f0bfb908000000f3a6b908000000f2aeb908000000f3a7b908000000f2afbe0001f0bfbf04',
  '01f0bfb908000000f3a4bff80ff0bfb910000000f3abbe0003f0bfbf0004f0bffda4b902000000f3a5fc31c9f3aadbe3',
  'c7430403000000db4304dd5b08dd4308db5b04db4304df5304df5b04dd4308df7b10df6b10dd4304dc4304dd5b04dd5b',
  '0cdf4304d9530cd9430cdb7b20db6b20d9e8d9eed9ebd9ead9c1d9cad8c1dcc1dec1d8e1d8e9dee1dee9d8c9dec9d9e8',
  'd8f1d8f9def1d9e8def9dc4308dc6308dc6b08dc4b08dc7308dc7b08d8430cd84b0cda4304da4b04dc5308d8530cd8d1',
  'dde1dbf1dbe9dfe0dd7b04d97b04d96b04d9e4d9e5d9e0d9e1d9fad9fcd9c0d8d9d9c0dae9d9e8dff1d9e8dfe9dac1db',
  'c9ddd9ddd1dd5308dd5b08ddc79bdbe2dbe3cd80',
].join('');

/** The program, decoded from HEX. */
export function primerBytes(): Uint8Array {
  const out = new Uint8Array(HEX.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(HEX.slice(2 * i, 2 * i + 2), 16);
  return out;
}
