// The errno numbers and file-type/open-flag/AT_* constants (i386 values) the file system and socket
// modules use: the ones errno.ts and fd.ts already define are re-exported from there (one spelling
// per number), the rest are added here. Numbers only: no behaviour.

export {
  EPERM,
  ENOENT,
  EINTR,
  EIO,
  EBADF,
  EAGAIN,
  ENOMEM,
  EACCES,
  EFAULT,
  EEXIST,
  ENOTDIR,
  EISDIR,
  EINVAL,
  EMFILE,
  ENOTTY,
  ESPIPE,
  EROFS,
  EPIPE,
  ERANGE,
  ENAMETOOLONG,
  ENOSYS,
  ETIMEDOUT,
} from './errno.js';
export {
  S_IFMT,
  S_IFSOCK,
  S_IFREG,
  S_IFDIR,
  S_IFCHR,
  S_IFBLK,
  S_IFIFO,
  O_ACCMODE,
  O_RDONLY,
  O_WRONLY,
  O_RDWR,
  O_CREAT,
  O_EXCL,
  O_TRUNC,
  O_APPEND,
  O_NONBLOCK,
  O_DIRECTORY,
  O_CLOEXEC,
} from './fd.js';

export const ENXIO = 6;
export const EBUSY = 16;
export const EXDEV = 18;
export const ENODEV = 19;
export const EFBIG = 27;
export const ENOSPC = 28;
export const EMLINK = 31;
export const ENOTEMPTY = 39;
export const ELOOP = 40;
export const EOVERFLOW = 75;
export const ENOPROTOOPT = 92;
export const EPROTONOSUPPORT = 93;
export const ESOCKTNOSUPPORT = 94;
export const EOPNOTSUPP = 95;
export const EAFNOSUPPORT = 97;
export const EADDRINUSE = 98;
export const EADDRNOTAVAIL = 99;
export const ENETUNREACH = 101;
export const ECONNABORTED = 103;
export const ECONNRESET = 104;
export const EISCONN = 106;
export const ENOTCONN = 107;
export const ECONNREFUSED = 111;
export const EALREADY = 114;
export const EINPROGRESS = 115;
export const EDESTADDRREQ = 89;
export const EMSGSIZE = 90;
export const EPROTOTYPE = 91;
export const ENOTSOCK = 88;

export const S_IFLNK = 0o120000;

export const O_NOFOLLOW = 0o400000;
export const O_PATH = 0o10000000;
export const O_TMPFILE = 0o20000000;

export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;
export const AT_SYMLINK_FOLLOW = 0x400;
export const AT_EMPTY_PATH = 0x1000;
