// node:path for isowasm: Node's POSIX path functions (path.win32 is the
// same object: workers run on POSIX hosts).

const errors = require('isowasm:errors');

function validateString (value, name) {
    if (typeof value !== 'string') {
        throw errors.invalidArgType(name, 'string', value);
    }
}

// Resolves . and .. elements in a path with directory names.
function normalizeString (path, allowAboveRoot) {
    let res = '',
        lastSegmentLength = 0,
        lastSlash = -1,
        dots = 0,
        code = 0;

    for (let i = 0; i <= path.length; i += 1) {
        if (i < path.length) {
            code = path.charCodeAt(i);
        } else if (code === 47) {
            break;
        } else {
            code = 47;
        }

        if (code === 47) {
            if (lastSlash === i - 1 || dots === 1) {
                // NOOP
            } else if (dots === 2) {
                if (res.length < 2 || lastSegmentLength !== 2 || res.charCodeAt(res.length - 1) !== 46 || res.charCodeAt(res.length - 2) !== 46) {
                    if (res.length > 2) {
                        const lastSlashIndex = res.lastIndexOf('/');

                        if (lastSlashIndex === -1) {
                            res = '';
                            lastSegmentLength = 0;
                        } else {
                            res = res.slice(0, lastSlashIndex);
                            lastSegmentLength = res.length - 1 - res.lastIndexOf('/');
                        }

                        lastSlash = i;
                        dots = 0;
                        continue;
                    } else if (res.length !== 0) {
                        res = '';
                        lastSegmentLength = 0;
                        lastSlash = i;
                        dots = 0;
                        continue;
                    }
                }

                if (allowAboveRoot) {
                    res += res.length > 0 ? '/..' : '..';
                    lastSegmentLength = 2;
                }
            } else {
                if (res.length > 0) {
                    res += `/${path.slice(lastSlash + 1, i)}`;
                } else {
                    res = path.slice(lastSlash + 1, i);
                }

                lastSegmentLength = i - lastSlash - 1;
            }

            lastSlash = i;
            dots = 0;
        } else if (code === 46 && dots !== -1) {
            dots += 1;
        } else {
            dots = -1;
        }
    }

    return res;
}

const path = {
    basename (p, suffix) {
        validateString(p, 'path');

        if (suffix !== undefined) {
            validateString(suffix, 'ext');
        }

        let end = p.length;

        while (end > 0 && p.charCodeAt(end - 1) === 47) {
            end -= 1;
        }

        if (end === 0) {
            return '';
        }

        const start = p.lastIndexOf('/', end - 1) + 1;

        let base = p.slice(start, end);

        if (suffix !== undefined && suffix !== base && base.endsWith(suffix) && suffix.length > 0) {
            base = base.slice(0, base.length - suffix.length);
        }

        return base;
    },
    delimiter: ':',
    dirname (p) {
        validateString(p, 'path');

        if (p.length === 0) {
            return '.';
        }

        const hasRoot = p.charCodeAt(0) === 47;

        let end = -1,
            matchedSlash = true;

        for (let i = p.length - 1; i >= 1; i -= 1) {
            if (p.charCodeAt(i) === 47) {
                if (!matchedSlash) {
                    end = i;
                    break;
                }
            } else {
                matchedSlash = false;
            }
        }

        if (end === -1) {
            return hasRoot ? '/' : '.';
        }

        if (hasRoot && end === 1) {
            return '//';
        }

        return p.slice(0, end);
    },
    extname (p) {
        validateString(p, 'path');

        let startDot = -1,
            startPart = 0,
            end = -1,
            matchedSlash = true,
            preDotState = 0;

        for (let i = p.length - 1; i >= 0; i -= 1) {
            const code = p.charCodeAt(i);

            if (code === 47) {
                if (!matchedSlash) {
                    startPart = i + 1;
                    break;
                }

                continue;
            }

            if (end === -1) {
                matchedSlash = false;
                end = i + 1;
            }

            if (code === 46) {
                if (startDot === -1) {
                    startDot = i;
                } else if (preDotState !== 1) {
                    preDotState = 1;
                }
            } else if (startDot !== -1) {
                preDotState = -1;
            }
        }

        if (startDot === -1 || end === -1 || preDotState === 0 || preDotState === 1 && startDot === end - 1 && startDot === startPart + 1) {
            return '';
        }

        return p.slice(startDot, end);
    },
    format (pathObject) {
        if (pathObject === null || typeof pathObject !== 'object') {
            throw errors.invalidArgType('pathObject', 'object', pathObject);
        }

        const dir = pathObject.dir || pathObject.root,
            base = pathObject.base || `${pathObject.name || ''}${pathObject.ext ? (pathObject.ext[0] === '.' ? '' : '.') + pathObject.ext : ''}`;

        if (!dir) {
            return base;
        }

        return dir === pathObject.root ? `${dir}${base}` : `${dir}/${base}`;
    },
    isAbsolute (p) {
        validateString(p, 'path');
        return p.length > 0 && p.charCodeAt(0) === 47;
    },
    join (...args) {
        if (args.length === 0) {
            return '.';
        }

        let joined;

        for (const arg of args) {
            validateString(arg, 'path');

            if (arg.length > 0) {
                joined = joined === undefined ? arg : `${joined}/${arg}`;
            }
        }

        if (joined === undefined) {
            return '.';
        }

        return path.normalize(joined);
    },
    normalize (p) {
        validateString(p, 'path');

        if (p.length === 0) {
            return '.';
        }

        const isAbsolute = p.charCodeAt(0) === 47,
            trailingSeparator = p.charCodeAt(p.length - 1) === 47;

        p = normalizeString(p, !isAbsolute);

        if (p.length === 0) {
            if (isAbsolute) {
                return '/';
            }

            return trailingSeparator ? './' : '.';
        }

        if (trailingSeparator) {
            p += '/';
        }

        return isAbsolute ? `/${p}` : p;
    },
    parse (p) {
        validateString(p, 'path');

        const ret = {
            base: '',
            dir: '',
            ext: '',
            name: '',
            root: ''
        };

        if (p.length === 0) {
            return ret;
        }

        const isAbsolute = p.charCodeAt(0) === 47;

        let start;

        if (isAbsolute) {
            ret.root = '/';
            start = 1;
        } else {
            start = 0;
        }

        let startDot = -1,
            startPart = 0,
            end = -1,
            matchedSlash = true,
            i = p.length - 1,
            preDotState = 0;

        for (; i >= start; i -= 1) {
            const code = p.charCodeAt(i);

            if (code === 47) {
                if (!matchedSlash) {
                    startPart = i + 1;
                    break;
                }

                continue;
            }

            if (end === -1) {
                matchedSlash = false;
                end = i + 1;
            }

            if (code === 46) {
                if (startDot === -1) {
                    startDot = i;
                } else if (preDotState !== 1) {
                    preDotState = 1;
                }
            } else if (startDot !== -1) {
                preDotState = -1;
            }
        }

        if (end !== -1) {
            const start2 = startPart === 0 && isAbsolute ? 1 : startPart;

            if (startDot === -1 || preDotState === 0 || preDotState === 1 && startDot === end - 1 && startDot === startPart + 1) {
                ret.base = ret.name = p.slice(start2, end);
            } else {
                ret.name = p.slice(start2, startDot);
                ret.base = p.slice(start2, end);
                ret.ext = p.slice(startDot, end);
            }
        }

        if (startPart > 0) {
            ret.dir = p.slice(0, startPart - 1);
        } else if (isAbsolute) {
            ret.dir = '/';
        }

        return ret;
    },
    relative (from, to) {
        validateString(from, 'from');
        validateString(to, 'to');

        if (from === to) {
            return '';
        }

        from = path.resolve(from);
        to = path.resolve(to);

        if (from === to) {
            return '';
        }

        const fromStart = 1,
            fromEnd = from.length,
            fromLen = fromEnd - fromStart,
            toStart = 1,
            toLen = to.length - toStart,
            length = fromLen < toLen ? fromLen : toLen;

        let lastCommonSep = -1,
            i = 0;

        for (; i < length; i += 1) {
            const fromCode = from.charCodeAt(fromStart + i);

            if (fromCode !== to.charCodeAt(toStart + i)) {
                break;
            } else if (fromCode === 47) {
                lastCommonSep = i;
            }
        }

        if (i === length) {
            if (toLen > length) {
                if (to.charCodeAt(toStart + i) === 47) {
                    return to.slice(toStart + i + 1);
                }

                if (i === 0) {
                    return to.slice(toStart + i);
                }
            } else if (fromLen > length) {
                if (from.charCodeAt(fromStart + i) === 47) {
                    lastCommonSep = i;
                } else if (i === 0) {
                    lastCommonSep = 0;
                }
            }
        }

        let out = '';

        for (i = fromStart + lastCommonSep + 1; i <= fromEnd; i += 1) {
            if (i === fromEnd || from.charCodeAt(i) === 47) {
                out += out.length === 0 ? '..' : '/..';
            }
        }

        return `${out}${to.slice(toStart + lastCommonSep)}`;
    },
    resolve (...args) {
        let resolvedPath = '',
            resolvedAbsolute = false;

        for (let i = args.length - 1; i >= -1 && !resolvedAbsolute; i -= 1) {
            const p = i >= 0 ? args[i] : require('node:process').cwd();

            validateString(p, `paths[${i}]`);

            if (p.length === 0) {
                continue;
            }

            resolvedPath = `${p}/${resolvedPath}`;
            resolvedAbsolute = p.charCodeAt(0) === 47;
        }

        resolvedPath = normalizeString(resolvedPath, !resolvedAbsolute);

        if (resolvedAbsolute) {
            return `/${resolvedPath}`;
        }

        return resolvedPath.length > 0 ? resolvedPath : '.';
    },
    sep: '/',
    toNamespacedPath (p) {
        return p;
    }
};

path.posix = path;
path.win32 = path;

module.exports = path;
