package wasm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tetratelabs/wazero"
	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/sys"
)

// Dir is a host directory granted to a guest.
type Dir struct {
	// Host is the directory on this machine; Guest is where the guest
	// sees it (Host when empty).
	Host, Guest string
	// ReadOnly refuses every change: writes, creation, removal, renames.
	ReadOnly bool
}

// ParseDir reads a grant as the command line writes it: "DIR" (the guest
// sees it at the same path), "HOSTDIR:GUESTDIR", and either followed by
// ":ro" (read-only) or ":rw" (the default).
func ParseDir(spec string) (Dir, error) {
	var d Dir
	parts := strings.Split(spec, ":")
	if n := len(parts); n > 1 && (parts[n-1] == "ro" || parts[n-1] == "rw") {
		d.ReadOnly = parts[n-1] == "ro"
		parts = parts[:n-1]
	}
	switch len(parts) {
	case 1:
		d.Host, d.Guest = parts[0], parts[0]
	case 2:
		d.Host, d.Guest = parts[0], parts[1]
	default:
		return d, fmt.Errorf("wasm: directory grant %q: write DIR, HOSTDIR:GUESTDIR, or either followed by :ro", spec)
	}
	if d.Host == "" || d.Guest == "" {
		return d, fmt.Errorf("wasm: directory grant %q: a directory name is empty", spec)
	}
	return d, nil
}

// mountDirs opens each granted directory as an os.Root and mounts it. The
// roots are the caller's to close once the guest is gone.
func mountDirs(dirs []Dir) (wazero.FSConfig, []*os.Root, error) {
	cfg := wazero.NewFSConfig()
	var roots []*os.Root
	for _, d := range dirs {
		host, err := filepath.Abs(d.Host)
		if err == nil {
			var r *os.Root
			if r, err = os.OpenRoot(host); err == nil {
				roots = append(roots, r)
				guest := d.Guest
				if guest == "" {
					guest = d.Host
				}
				cfg = cfg.(sysfs.FSConfig).WithSysFSMount(&rootFS{root: r, readOnly: d.ReadOnly}, guest)
				continue
			}
		}
		for _, r := range roots {
			r.Close()
		}
		return nil, nil, fmt.Errorf("wasm: opening the granted directory %s: %w", d.Host, err)
	}
	return cfg, roots, nil
}

// rootFS is a guest's view of one granted directory. Every path is
// resolved beneath it by os.Root, component by component: whether a path
// leaves it by "..", by an absolute symbolic link or by a relative one
// (there before the guest started, or made by the guest), the operation
// is refused with EPERM and nothing outside is touched. (wazero's own
// directory mount joins paths as strings and lets the OS follow links.)
type rootFS struct {
	experimentalsys.UnimplementedFS
	root     *os.Root
	readOnly bool
}

// rootPath maps wazero's path (relative to the mount, "" or "/" for its top)
// to os.Root's.
func rootPath(p string) string {
	switch p {
	case "", "/":
		return "."
	}
	return p
}

// toErrno maps an os error to the guest's errno. os.Root refuses a path
// that escapes with an error of its own, not an errno: that is EPERM, as
// wazero answers a path that escapes lexically.
func toErrno(err error) experimentalsys.Errno {
	if err == nil {
		return 0
	}
	e := experimentalsys.UnwrapOSError(err)
	var errno syscall.Errno
	if e == experimentalsys.EIO && !errors.As(err, &errno) {
		return experimentalsys.EPERM
	}
	return e
}

func (r *rootFS) OpenFile(p string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	access := flag & (experimentalsys.O_RDONLY | experimentalsys.O_RDWR | experimentalsys.O_WRONLY)
	if r.readOnly && (access != experimentalsys.O_RDONLY || flag&(experimentalsys.O_CREAT|experimentalsys.O_TRUNC|experimentalsys.O_APPEND) != 0) {
		if flag&experimentalsys.O_DIRECTORY != 0 {
			return nil, experimentalsys.EISDIR
		}
		return nil, experimentalsys.EROFS
	}
	n := rootPath(p)
	if flag&experimentalsys.O_NOFOLLOW != 0 {
		// os.Root follows a last link itself (within the root): honour
		// the guest's "do not follow" first.
		if fi, err := r.root.Lstat(n); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, experimentalsys.ELOOP
		}
	}
	f, err := r.root.OpenFile(n, osFlag(flag), perm)
	if err != nil {
		return nil, toErrno(err)
	}
	adapted, errno := (&sysfs.AdaptFS{FS: &opener{root: r.root, first: f}}).OpenFile(n, flag, perm)
	if errno != 0 {
		f.Close()
		return nil, errno
	}
	return &rootFile{File: adapted, fs: r, name: n, file: f, append: flag&experimentalsys.O_APPEND != 0}, 0
}

// osFlag translates wazero's open flags (their own numbering) to the OS's.
func osFlag(flag experimentalsys.Oflag) int {
	var f int
	switch flag & (experimentalsys.O_RDONLY | experimentalsys.O_RDWR | experimentalsys.O_WRONLY) {
	case experimentalsys.O_RDWR:
		f = os.O_RDWR
	case experimentalsys.O_WRONLY:
		f = os.O_WRONLY
	default:
		f = os.O_RDONLY
	}
	for _, m := range []struct {
		from experimentalsys.Oflag
		to   int
	}{
		{experimentalsys.O_APPEND, os.O_APPEND},
		{experimentalsys.O_CREAT, os.O_CREATE},
		{experimentalsys.O_DIRECTORY, syscall.O_DIRECTORY},
		{experimentalsys.O_DSYNC, syscall.O_DSYNC},
		{experimentalsys.O_EXCL, os.O_EXCL},
		{experimentalsys.O_RSYNC, syscall.O_RSYNC},
		{experimentalsys.O_SYNC, os.O_SYNC},
		{experimentalsys.O_TRUNC, os.O_TRUNC},
	} {
		if flag&m.from != 0 {
			f |= m.to
		}
	}
	return f
}

func (r *rootFS) Lstat(p string) (sys.Stat_t, experimentalsys.Errno) {
	fi, err := r.root.Lstat(rootPath(p))
	if err != nil {
		return sys.Stat_t{}, toErrno(err)
	}
	return sys.NewStat_t(fi), 0
}

func (r *rootFS) Stat(p string) (sys.Stat_t, experimentalsys.Errno) {
	fi, err := r.root.Stat(rootPath(p))
	if err != nil {
		return sys.Stat_t{}, toErrno(err)
	}
	return sys.NewStat_t(fi), 0
}

// change runs a modifying operation, or refuses it on a read-only grant.
func (r *rootFS) change(op func() error) experimentalsys.Errno {
	if r.readOnly {
		return experimentalsys.EROFS
	}
	return toErrno(op())
}

func (r *rootFS) Mkdir(p string, perm fs.FileMode) experimentalsys.Errno {
	return r.change(func() error { return r.root.Mkdir(rootPath(p), perm) })
}

func (r *rootFS) Chmod(p string, perm fs.FileMode) experimentalsys.Errno {
	return r.change(func() error { return r.root.Chmod(rootPath(p), perm) })
}

func (r *rootFS) Rename(from, to string) experimentalsys.Errno {
	return r.change(func() error { return r.root.Rename(rootPath(from), rootPath(to)) })
}

// remove removes a directory (dir) or anything else, as rmdir and unlink
// do: each refuses the other kind.
func (r *rootFS) remove(p string, dir bool) experimentalsys.Errno {
	return r.change(func() error {
		fi, err := r.root.Lstat(rootPath(p))
		switch {
		case err != nil:
			return err
		case dir && !fi.IsDir():
			return syscall.ENOTDIR
		case !dir && fi.IsDir():
			return syscall.EISDIR
		}
		return r.root.Remove(rootPath(p))
	})
}

func (r *rootFS) Rmdir(p string) experimentalsys.Errno  { return r.remove(p, true) }
func (r *rootFS) Unlink(p string) experimentalsys.Errno { return r.remove(p, false) }

func (r *rootFS) Link(oldPath, newPath string) experimentalsys.Errno {
	return r.change(func() error { return r.root.Link(rootPath(oldPath), rootPath(newPath)) })
}

// Symlink makes a link whose target is kept as written; following it
// later is confined like any other path. An absolute target could never
// be followed, so it is refused at once, as WASI's path resolution says.
func (r *rootFS) Symlink(target, link string) experimentalsys.Errno {
	if path.IsAbs(target) {
		return experimentalsys.EPERM
	}
	return r.change(func() error { return r.root.Symlink(target, rootPath(link)) })
}

func (r *rootFS) Readlink(p string) (string, experimentalsys.Errno) {
	target, err := r.root.Readlink(rootPath(p))
	return target, toErrno(err)
}

func (r *rootFS) Utimens(p string, atim, mtim int64) experimentalsys.Errno {
	return r.change(func() error { return r.root.Chtimes(rootPath(p), utime(atim), utime(mtim)) })
}

// utime maps a WASI time stamp to os.Chtimes's: the zero time leaves it.
func utime(ns int64) time.Time {
	if ns == experimentalsys.UTIME_OMIT {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// opener is the fs.FS wazero's file adapter (sysfs.AdaptFS) takes an
// opened file from: its first Open hands over the file rootFS opened
// with the guest's flags; a later one (a directory rewound) opens the
// same name again beneath the root.
type opener struct {
	root  *os.Root
	first *os.File
}

func (o *opener) Open(name string) (fs.File, error) {
	if f := o.first; f != nil {
		o.first = nil
		return f, nil
	}
	return o.root.Open(name)
}

// rootFile is a file or directory opened in a granted directory: wazero's
// adapter over the *os.File does the reads, writes, seeks and directory
// listing; what it lacks is here.
type rootFile struct {
	experimentalsys.File
	fs     *rootFS
	name   string // within the root
	file   *os.File
	append bool
}

func (f *rootFile) IsAppend() bool { return f.append }

// SetAppend changes the descriptor's flag in place (fcntl), so the file
// is never opened again by name.
func (f *rootFile) SetAppend(enable bool) experimentalsys.Errno {
	if f.fs.readOnly && enable {
		return experimentalsys.EROFS
	}
	if errno := f.regular(); errno != 0 {
		return errno
	}
	fd := f.file.Fd()
	fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
	if err == nil {
		if enable {
			fl |= unix.O_APPEND
		} else {
			fl &^= unix.O_APPEND
		}
		_, err = unix.FcntlInt(fd, unix.F_SETFL, fl)
	}
	if err != nil {
		return toErrno(err)
	}
	f.append = enable
	return 0
}

// regular is 0 for an open file that is not a directory.
func (f *rootFile) regular() experimentalsys.Errno {
	dir, errno := f.IsDir()
	if errno == 0 && dir {
		errno = experimentalsys.EISDIR
	}
	return errno
}

func (f *rootFile) Truncate(size int64) experimentalsys.Errno {
	if errno := f.regular(); errno != 0 {
		return errno
	}
	if size < 0 {
		return experimentalsys.EINVAL
	}
	return toErrno(f.file.Truncate(size))
}

func (f *rootFile) Sync() experimentalsys.Errno {
	if errno := f.regular(); errno != 0 {
		return 0 // a directory: nothing of the guest's to flush
	}
	return toErrno(f.file.Sync())
}

func (f *rootFile) Datasync() experimentalsys.Errno { return f.Sync() }

func (f *rootFile) Utimens(atim, mtim int64) experimentalsys.Errno {
	if _, errno := f.IsDir(); errno != 0 {
		return errno
	}
	return f.fs.Utimens(f.name, atim, mtim)
}
