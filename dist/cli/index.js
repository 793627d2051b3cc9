#!/usr/bin/env node
import { createRequire as __WEBPACK_EXTERNAL_createRequire } from "module";
/******/ var __webpack_modules__ = ({

/***/ 581:
/***/ ((module, __unused_webpack___webpack_exports__, __nccwpck_require__) => {

__nccwpck_require__.a(module, async (__webpack_handle_async_dependencies__, __webpack_async_result__) => { try {
/* harmony import */ var _cli_main_js__WEBPACK_IMPORTED_MODULE_0__ = __nccwpck_require__(326);
// Entry point of the `warmstart` command line.

process.exitCode = await (0,_cli_main_js__WEBPACK_IMPORTED_MODULE_0__/* .main */ .iW)(process.argv.slice(2));

__webpack_async_result__();
} catch(e) { __webpack_async_result__(e); } }, 1);

/***/ }),

/***/ 326:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {


// EXPORTS
__nccwpck_require__.d(__webpack_exports__, {
  iW: () => (/* binding */ main)
});

// UNUSED EXPORTS: VERSION, outputs

;// CONCATENATED MODULE: external "node:fs"
const external_node_fs_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:fs");
;// CONCATENATED MODULE: external "node:os"
const external_node_os_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:os");
;// CONCATENATED MODULE: external "node:path"
const external_node_path_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:path");
;// CONCATENATED MODULE: external "node:crypto"
const external_node_crypto_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:crypto");
;// CONCATENATED MODULE: ./src/key.ts
// The cache key: everything a checkpoint depends on, composed by one pure function.
//
// Shape: warmstart-<name>-<host digest>-<user key>-<spec digest>. The host digest comes before the
// user's part so that every restore-key prefix a user writes (`v1-`) still pins the host: a
// partial hit can never cross CPUs, kernels or CRIU versions.

/** Bumped when what warmstart stores, or how it restores it, changes incompatibly. */
const CHECKPOINT_FORMAT = 2;
function composeKey(inputs) {
    const { spec, host } = inputs;
    const hostComponents = {
        'host.arch': host.arch,
        'host.cpu-vendor': host.cpuVendor,
        'host.cpu-model': host.cpuModel,
        'host.cpu-flags': digest(host.cpuFlags.join(' ')),
        'host.kernel': host.kernel,
        'host.criu': host.criu,
        'host.podman': host.podman,
        'host.runtime': host.runtime,
        'host.cgroup': host.cgroup,
        'host.criu-config': host.criuConfig,
        'host.cpus': String(host.cpus),
        'host.memory-gib': String(host.memoryGiB),
        format: String(CHECKPOINT_FORMAT)
    };
    const specComponents = {
        image: inputs.imageId,
        ports: [...spec.ports].sort().join(' '),
        // Values may be secrets: only their digest is shown.
        env: digest(canonicalEnv(spec.env)),
        options: spec.options.join(' '),
        command: JSON.stringify(spec.command),
        warmup: spec.warmup,
        refresh: spec.refresh,
        'warmup-script': inputs.warmupScript === undefined ? '' : digest(inputs.warmupScript),
        'file-locks': String(spec.fileLocks),
        'tcp-established': String(spec.tcpEstablished),
        'user-namespace': String(inputs.userNamespace),
        'criu-config': inputs.criuConfigDigest.slice(0, 16)
    };
    const prefix = `warmstart-${spec.name}-${digest(canonical(hostComponents)).slice(0, 12)}-`;
    const user = spec.key ? `${spec.key}-` : '';
    const specDigest = digest(canonical(specComponents)).slice(0, 16);
    const key = `${prefix}${user}${specDigest}`;
    return {
        key,
        prefix,
        specDigest,
        components: { ...hostComponents, ...specComponents, key: spec.key }
    };
}
/** Restore keys as the user writes them (`v1-`), made into full prefixes on this host. */
function restoreKeyPrefixes(prefix, restoreKeys) {
    return restoreKeys.map((restoreKey) => `${prefix}${restoreKey}`);
}
function canonicalEnv(env) {
    return Object.keys(env)
        .sort()
        .map((name) => `${name}=${env[name]}`)
        .join('\n');
}
function canonical(components) {
    return Object.keys(components)
        .sort()
        .map((name) => `${name}=${components[name]}`)
        .join('\n');
}
function digest(text) {
    return (0,external_node_crypto_namespaceObject.createHash)('sha256').update(text).digest('hex');
}

;// CONCATENATED MODULE: ./src/archive/layout.ts
// How a stored checkpoint is laid out: one file, its parts back to back. The first part is
// podman's export of the container without the contents of its volumes (`--ignore-volumes`);
// then come the volumes, each in slices: slice 0 holds its directories and symbolic links,
// slices 1.. its other files, split by size. Each part is compressed on its own, so a warm
// restore unpacks every volume straight into place (the file slices side by side, one
// decompressor and one tar per slice, then slice 0, whose links cannot then redirect a file
// slice's writes) while the checkpoint part decompresses beside them,
// instead of podman writing a volume's bytes twice more (into its bundle directory, then into
// the volume) with one thread. The parts are listed in the manifest; this module only describes
// and checks that list.
/** The parts as the manifest stores them: a JSON string (manifest values are scalars). */
function encodeParts(parts) {
    return JSON.stringify(parts);
}
// podman's own rule for volume names, which also keeps them safe in paths and argv.
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const SHA256 = /^[0-9a-f]{64}$/;
/**
 * The parts a manifest lists, checked: one checkpoint part first, then volumes, laid end to end
 * over exactly `archiveBytes`. Throws an Error saying what is wrong.
 */
function decodeParts(encoded, archiveBytes) {
    if (typeof encoded !== 'string')
        throw new Error('parts: missing');
    let raw;
    try {
        raw = JSON.parse(encoded);
    }
    catch {
        throw new Error('parts: not JSON');
    }
    if (!Array.isArray(raw) || raw.length === 0)
        throw new Error('parts: not a list of parts');
    const parts = raw.map((part, index) => checkPart(part, index));
    let offset = 0;
    for (const [index, part] of parts.entries()) {
        if ((part.kind === 'checkpoint') !== (index === 0)) {
            throw new Error('parts: the checkpoint must be the first part, and the only one');
        }
        if (part.offset !== offset) {
            throw new Error(`parts: part ${index} starts at ${part.offset}, expected ${offset}`);
        }
        offset += part.bytes;
    }
    if (offset !== archiveBytes) {
        throw new Error(`parts: they cover ${offset} bytes of an archive of ${archiveBytes}`);
    }
    checkSlices(parts.filter(isVolumePart));
    return parts;
}
function isVolumePart(part) {
    return part.kind === 'volume';
}
function checkPart(value, index) {
    const part = value;
    const fail = (what) => {
        throw new Error(`parts: part ${index} ${what}`);
    };
    if (typeof part !== 'object' || part === null)
        fail('is not an object');
    const count = (name) => {
        const n = part[name];
        return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : fail(`has no ${name}`);
    };
    const base = { offset: count('offset'), bytes: count('bytes'), sha256: String(part.sha256) };
    if (!SHA256.test(base.sha256))
        fail('has no sha256');
    if (part.kind === 'checkpoint')
        return { kind: 'checkpoint', ...base };
    if (part.kind !== 'volume')
        return fail(`is of unknown kind ${JSON.stringify(part.kind)}`);
    const name = String(part.name);
    if (!VOLUME_NAME.test(name))
        fail(`has an invalid volume name ${JSON.stringify(part.name)}`);
    const destination = String(part.destination);
    if (!destination.startsWith('/') || destination.split('/').includes('..')) {
        fail(`has an invalid destination ${JSON.stringify(part.destination)}`);
    }
    return {
        kind: 'volume',
        ...base,
        name,
        destination,
        uid: count('uid'),
        gid: count('gid'),
        slice: count('slice'),
        unpackedBytes: count('unpackedBytes')
    };
}
/** A volume's slices come together, numbered from 0, and agree on where and whose it is. */
function checkSlices(volumes) {
    const seen = new Set();
    let previous;
    for (const part of volumes) {
        if (part.name !== previous?.name) {
            if (seen.has(part.name))
                throw new Error(`parts: the slices of volume ${part.name} are apart`);
            seen.add(part.name);
            if (part.slice !== 0)
                throw new Error(`parts: volume ${part.name} starts at slice ${part.slice}`);
        }
        else {
            if (part.slice !== previous.slice + 1) {
                throw new Error(`parts: volume ${part.name} has slice ${part.slice} after ${previous.slice}`);
            }
            if (part.destination !== previous.destination ||
                part.uid !== previous.uid ||
                part.gid !== previous.gid) {
                throw new Error(`parts: the slices of volume ${part.name} disagree on its mount or owner`);
            }
        }
        previous = part;
    }
}
/** The volume parts grouped by volume, in order: each group's first part is slice 0. */
function volumeGroups(parts) {
    const groups = [];
    for (const part of parts.filter(isVolumePart)) {
        if (part.slice === 0)
            groups.push([part]);
        else
            groups[groups.length - 1]?.push(part);
    }
    return groups;
}

;// CONCATENATED MODULE: ./src/archive/manifest.ts


/** The components of the key that describe the host (and warmstart's format). */
function hostComponents(key) {
    return Object.fromEntries(Object.entries(key.components).filter(([name]) => name.startsWith('host.') || name === 'format'));
}
function buildManifest(options) {
    return {
        format: CHECKPOINT_FORMAT,
        key: options.key.key,
        specDigest: options.key.specDigest,
        image: options.image,
        imageId: options.key.components.image ?? '',
        sha256: options.sha256,
        bytes: options.bytes,
        parts: encodeParts(options.parts),
        createdAt: options.createdAt.toISOString(),
        ...hostComponents(options.key)
    };
}
/**
 * What differs between a stored manifest and this host and run, one line per difference; empty
 * when the checkpoint may be restored here. `storedKey` is the key the entry was found under: a
 * restore-key hit legitimately has another spec digest, never another host.
 */
function manifestDifferences(manifest, key, storedKey) {
    const differences = [];
    const expected = {
        ...hostComponents(key),
        format: CHECKPOINT_FORMAT,
        key: storedKey
    };
    if (storedKey === key.key)
        expected.specDigest = key.specDigest;
    for (const [name, value] of Object.entries(expected)) {
        if (String(manifest[name]) !== String(value)) {
            differences.push(`${name}: the checkpoint has ${JSON.stringify(manifest[name] ?? null)}, this run ${JSON.stringify(value)}`);
        }
    }
    if (typeof manifest.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(manifest.sha256))
        differences.push('sha256: missing');
    if (typeof manifest.bytes !== 'number')
        differences.push('bytes: missing');
    return differences;
}

;// CONCATENATED MODULE: external "string_decoder"
const external_string_decoder_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("string_decoder");
;// CONCATENATED MODULE: external "os"
const external_os_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("os");
;// CONCATENATED MODULE: external "events"
const external_events_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("events");
;// CONCATENATED MODULE: external "child_process"
const external_child_process_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("child_process");
;// CONCATENATED MODULE: external "path"
const external_path_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("path");
;// CONCATENATED MODULE: external "assert"
const external_assert_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("assert");
;// CONCATENATED MODULE: external "fs"
const external_fs_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("fs");
;// CONCATENATED MODULE: ./node_modules/@actions/io/lib/io-util.js
var __awaiter = (undefined && undefined.__awaiter) || function (thisArg, _arguments, P, generator) {
    function adopt(value) { return value instanceof P ? value : new P(function (resolve) { resolve(value); }); }
    return new (P || (P = Promise))(function (resolve, reject) {
        function fulfilled(value) { try { step(generator.next(value)); } catch (e) { reject(e); } }
        function rejected(value) { try { step(generator["throw"](value)); } catch (e) { reject(e); } }
        function step(result) { result.done ? resolve(result.value) : adopt(result.value).then(fulfilled, rejected); }
        step((generator = generator.apply(thisArg, _arguments || [])).next());
    });
};


const { chmod, copyFile, lstat, mkdir, open: io_util_open, readdir, rename, rm, rmdir, stat, symlink, unlink } = external_fs_namespaceObject.promises;
// export const {open} = 'fs'
const IS_WINDOWS = process.platform === 'win32';
/**
 * Custom implementation of readlink to ensure Windows junctions
 * maintain trailing backslash for backward compatibility with Node.js < 24
 *
 * In Node.js 20, Windows junctions (directory symlinks) always returned paths
 * with trailing backslashes. Node.js 24 removed this behavior, which breaks
 * code that relied on this format for path operations.
 *
 * This implementation restores the Node 20 behavior by adding a trailing
 * backslash to all junction results on Windows.
 */
function readlink(fsPath) {
    return __awaiter(this, void 0, void 0, function* () {
        const result = yield fs.promises.readlink(fsPath);
        // On Windows, restore Node 20 behavior: add trailing backslash to all results
        // since junctions on Windows are always directory links
        if (IS_WINDOWS && !result.endsWith('\\')) {
            return `${result}\\`;
        }
        return result;
    });
}
// See https://github.com/nodejs/node/blob/d0153aee367422d0858105abec186da4dff0a0c5/deps/uv/include/uv/win.h#L691
const UV_FS_O_EXLOCK = 0x10000000;
const READONLY = external_fs_namespaceObject.constants.O_RDONLY;
function exists(fsPath) {
    return __awaiter(this, void 0, void 0, function* () {
        try {
            yield stat(fsPath);
        }
        catch (err) {
            if (err.code === 'ENOENT') {
                return false;
            }
            throw err;
        }
        return true;
    });
}
function isDirectory(fsPath_1) {
    return __awaiter(this, arguments, void 0, function* (fsPath, useStat = false) {
        const stats = useStat ? yield stat(fsPath) : yield lstat(fsPath);
        return stats.isDirectory();
    });
}
/**
 * On OSX/Linux, true if path starts with '/'. On Windows, true for paths like:
 * \, \hello, \\hello\share, C:, and C:\hello (and corresponding alternate separator cases).
 */
function isRooted(p) {
    p = normalizeSeparators(p);
    if (!p) {
        throw new Error('isRooted() parameter "p" cannot be empty');
    }
    if (IS_WINDOWS) {
        return (p.startsWith('\\') || /^[A-Z]:/i.test(p) // e.g. \ or \hello or \\hello
        ); // e.g. C: or C:\hello
    }
    return p.startsWith('/');
}
/**
 * Best effort attempt to determine whether a file exists and is executable.
 * @param filePath    file path to check
 * @param extensions  additional file extensions to try
 * @return if file exists and is executable, returns the file path. otherwise empty string.
 */
function tryGetExecutablePath(filePath, extensions) {
    return __awaiter(this, void 0, void 0, function* () {
        let stats = undefined;
        try {
            // test file exists
            stats = yield stat(filePath);
        }
        catch (err) {
            if (err.code !== 'ENOENT') {
                // eslint-disable-next-line no-console
                console.log(`Unexpected error attempting to determine if executable file exists '${filePath}': ${err}`);
            }
        }
        if (stats && stats.isFile()) {
            if (IS_WINDOWS) {
                // on Windows, test for valid extension
                const upperExt = external_path_namespaceObject.extname(filePath).toUpperCase();
                if (extensions.some(validExt => validExt.toUpperCase() === upperExt)) {
                    return filePath;
                }
            }
            else {
                if (isUnixExecutable(stats)) {
                    return filePath;
                }
            }
        }
        // try each extension
        const originalFilePath = filePath;
        for (const extension of extensions) {
            filePath = originalFilePath + extension;
            stats = undefined;
            try {
                stats = yield stat(filePath);
            }
            catch (err) {
                if (err.code !== 'ENOENT') {
                    // eslint-disable-next-line no-console
                    console.log(`Unexpected error attempting to determine if executable file exists '${filePath}': ${err}`);
                }
            }
            if (stats && stats.isFile()) {
                if (IS_WINDOWS) {
                    // preserve the case of the actual file (since an extension was appended)
                    try {
                        const directory = external_path_namespaceObject.dirname(filePath);
                        const upperName = external_path_namespaceObject.basename(filePath).toUpperCase();
                        for (const actualName of yield readdir(directory)) {
                            if (upperName === actualName.toUpperCase()) {
                                filePath = external_path_namespaceObject.join(directory, actualName);
                                break;
                            }
                        }
                    }
                    catch (err) {
                        // eslint-disable-next-line no-console
                        console.log(`Unexpected error attempting to determine the actual case of the file '${filePath}': ${err}`);
                    }
                    return filePath;
                }
                else {
                    if (isUnixExecutable(stats)) {
                        return filePath;
                    }
                }
            }
        }
        return '';
    });
}
function normalizeSeparators(p) {
    p = p || '';
    if (IS_WINDOWS) {
        // convert slashes on Windows
        p = p.replace(/\//g, '\\');
        // remove redundant slashes
        return p.replace(/\\\\+/g, '\\');
    }
    // remove redundant slashes
    return p.replace(/\/\/+/g, '/');
}
// on Mac/Linux, test the execute bit
//     R   W  X  R  W X R W X
//   256 128 64 32 16 8 4 2 1
function isUnixExecutable(stats) {
    return ((stats.mode & 1) > 0 ||
        ((stats.mode & 8) > 0 &&
            process.getgid !== undefined &&
            stats.gid === process.getgid()) ||
        ((stats.mode & 64) > 0 &&
            process.getuid !== undefined &&
            stats.uid === process.getuid()));
}
// Get the path of cmd.exe in windows
function getCmdPath() {
    var _a;
    return (_a = process.env['COMSPEC']) !== null && _a !== void 0 ? _a : `cmd.exe`;
}
//# sourceMappingURL=io-util.js.map
;// CONCATENATED MODULE: ./node_modules/@actions/io/lib/io.js
var io_awaiter = (undefined && undefined.__awaiter) || function (thisArg, _arguments, P, generator) {
    function adopt(value) { return value instanceof P ? value : new P(function (resolve) { resolve(value); }); }
    return new (P || (P = Promise))(function (resolve, reject) {
        function fulfilled(value) { try { step(generator.next(value)); } catch (e) { reject(e); } }
        function rejected(value) { try { step(generator["throw"](value)); } catch (e) { reject(e); } }
        function step(result) { result.done ? resolve(result.value) : adopt(result.value).then(fulfilled, rejected); }
        step((generator = generator.apply(thisArg, _arguments || [])).next());
    });
};



/**
 * Copies a file or folder.
 * Based off of shelljs - https://github.com/shelljs/shelljs/blob/9237f66c52e5daa40458f94f9565e18e8132f5a6/src/cp.js
 *
 * @param     source    source path
 * @param     dest      destination path
 * @param     options   optional. See CopyOptions.
 */
function cp(source_1, dest_1) {
    return io_awaiter(this, arguments, void 0, function* (source, dest, options = {}) {
        const { force, recursive, copySourceDirectory } = readCopyOptions(options);
        const destStat = (yield ioUtil.exists(dest)) ? yield ioUtil.stat(dest) : null;
        // Dest is an existing file, but not forcing
        if (destStat && destStat.isFile() && !force) {
            return;
        }
        // If dest is an existing directory, should copy inside.
        const newDest = destStat && destStat.isDirectory() && copySourceDirectory
            ? path.join(dest, path.basename(source))
            : dest;
        if (!(yield ioUtil.exists(source))) {
            throw new Error(`no such file or directory: ${source}`);
        }
        const sourceStat = yield ioUtil.stat(source);
        if (sourceStat.isDirectory()) {
            if (!recursive) {
                throw new Error(`Failed to copy. ${source} is a directory, but tried to copy without recursive flag.`);
            }
            else {
                yield cpDirRecursive(source, newDest, 0, force);
            }
        }
        else {
            if (path.relative(source, newDest) === '') {
                // a file cannot be copied to itself
                throw new Error(`'${newDest}' and '${source}' are the same file`);
            }
            yield io_copyFile(source, newDest, force);
        }
    });
}
/**
 * Moves a path.
 *
 * @param     source    source path
 * @param     dest      destination path
 * @param     options   optional. See MoveOptions.
 */
function mv(source_1, dest_1) {
    return io_awaiter(this, arguments, void 0, function* (source, dest, options = {}) {
        if (yield ioUtil.exists(dest)) {
            let destExists = true;
            if (yield ioUtil.isDirectory(dest)) {
                // If dest is directory copy src into dest
                dest = path.join(dest, path.basename(source));
                destExists = yield ioUtil.exists(dest);
            }
            if (destExists) {
                if (options.force == null || options.force) {
                    yield rmRF(dest);
                }
                else {
                    throw new Error('Destination already exists');
                }
            }
        }
        yield mkdirP(path.dirname(dest));
        yield ioUtil.rename(source, dest);
    });
}
/**
 * Remove a path recursively with force
 *
 * @param inputPath path to remove
 */
function rmRF(inputPath) {
    return io_awaiter(this, void 0, void 0, function* () {
        if (ioUtil.IS_WINDOWS) {
            // Check for invalid characters
            // https://docs.microsoft.com/en-us/windows/win32/fileio/naming-a-file
            if (/[*"<>|]/.test(inputPath)) {
                throw new Error('File path must not contain `*`, `"`, `<`, `>` or `|` on Windows');
            }
        }
        try {
            // note if path does not exist, error is silent
            yield ioUtil.rm(inputPath, {
                force: true,
                maxRetries: 3,
                recursive: true,
                retryDelay: 300
            });
        }
        catch (err) {
            throw new Error(`File was unable to be removed ${err}`);
        }
    });
}
/**
 * Make a directory.  Creates the full path with folders in between
 * Will throw if it fails
 *
 * @param   fsPath        path to create
 * @returns Promise<void>
 */
function mkdirP(fsPath) {
    return io_awaiter(this, void 0, void 0, function* () {
        ok(fsPath, 'a path argument must be provided');
        yield ioUtil.mkdir(fsPath, { recursive: true });
    });
}
/**
 * Returns path of a tool had the tool actually been invoked.  Resolves via paths.
 * If you check and the tool does not exist, it will throw.
 *
 * @param     tool              name of the tool
 * @param     check             whether to check if tool exists
 * @returns   Promise<string>   path to tool
 */
function which(tool, check) {
    return io_awaiter(this, void 0, void 0, function* () {
        if (!tool) {
            throw new Error("parameter 'tool' is required");
        }
        // recursive when check=true
        if (check) {
            const result = yield which(tool, false);
            if (!result) {
                if (IS_WINDOWS) {
                    throw new Error(`Unable to locate executable file: ${tool}. Please verify either the file path exists or the file can be found within a directory specified by the PATH environment variable. Also verify the file has a valid extension for an executable file.`);
                }
                else {
                    throw new Error(`Unable to locate executable file: ${tool}. Please verify either the file path exists or the file can be found within a directory specified by the PATH environment variable. Also check the file mode to verify the file is executable.`);
                }
            }
            return result;
        }
        const matches = yield findInPath(tool);
        if (matches && matches.length > 0) {
            return matches[0];
        }
        return '';
    });
}
/**
 * Returns a list of all occurrences of the given tool on the system path.
 *
 * @returns   Promise<string[]>  the paths of the tool
 */
function findInPath(tool) {
    return io_awaiter(this, void 0, void 0, function* () {
        if (!tool) {
            throw new Error("parameter 'tool' is required");
        }
        // build the list of extensions to try
        const extensions = [];
        if (IS_WINDOWS && process.env['PATHEXT']) {
            for (const extension of process.env['PATHEXT'].split(external_path_namespaceObject.delimiter)) {
                if (extension) {
                    extensions.push(extension);
                }
            }
        }
        // if it's rooted, return it if exists. otherwise return empty.
        if (isRooted(tool)) {
            const filePath = yield tryGetExecutablePath(tool, extensions);
            if (filePath) {
                return [filePath];
            }
            return [];
        }
        // if any path separators, return empty
        if (tool.includes(external_path_namespaceObject.sep)) {
            return [];
        }
        // build the list of directories
        //
        // Note, technically "where" checks the current directory on Windows. From a toolkit perspective,
        // it feels like we should not do this. Checking the current directory seems like more of a use
        // case of a shell, and the which() function exposed by the toolkit should strive for consistency
        // across platforms.
        const directories = [];
        if (process.env.PATH) {
            for (const p of process.env.PATH.split(external_path_namespaceObject.delimiter)) {
                if (p) {
                    directories.push(p);
                }
            }
        }
        // find all matches
        const matches = [];
        for (const directory of directories) {
            const filePath = yield tryGetExecutablePath(external_path_namespaceObject.join(directory, tool), extensions);
            if (filePath) {
                matches.push(filePath);
            }
        }
        return matches;
    });
}
function readCopyOptions(options) {
    const force = options.force == null ? true : options.force;
    const recursive = Boolean(options.recursive);
    const copySourceDirectory = options.copySourceDirectory == null
        ? true
        : Boolean(options.copySourceDirectory);
    return { force, recursive, copySourceDirectory };
}
function cpDirRecursive(sourceDir, destDir, currentDepth, force) {
    return io_awaiter(this, void 0, void 0, function* () {
        // Ensure there is not a run away recursive copy
        if (currentDepth >= 255)
            return;
        currentDepth++;
        yield mkdirP(destDir);
        const files = yield ioUtil.readdir(sourceDir);
        for (const fileName of files) {
            const srcFile = `${sourceDir}/${fileName}`;
            const destFile = `${destDir}/${fileName}`;
            const srcFileStat = yield ioUtil.lstat(srcFile);
            if (srcFileStat.isDirectory()) {
                // Recurse
                yield cpDirRecursive(srcFile, destFile, currentDepth, force);
            }
            else {
                yield io_copyFile(srcFile, destFile, force);
            }
        }
        // Change the mode for the newly created directory
        yield ioUtil.chmod(destDir, (yield ioUtil.stat(sourceDir)).mode);
    });
}
// Buffered file copy
function io_copyFile(srcFile, destFile, force) {
    return io_awaiter(this, void 0, void 0, function* () {
        if ((yield ioUtil.lstat(srcFile)).isSymbolicLink()) {
            // unlink/re-link it
            try {
                yield ioUtil.lstat(destFile);
                yield ioUtil.unlink(destFile);
            }
            catch (e) {
                // Try to override file permission
                if (e.code === 'EPERM') {
                    yield ioUtil.chmod(destFile, '0666');
                    yield ioUtil.unlink(destFile);
                }
                // other errors = it doesn't exist, no work to do
            }
            // Copy over symlink
            const symlinkFull = yield ioUtil.readlink(srcFile);
            yield ioUtil.symlink(symlinkFull, destFile, ioUtil.IS_WINDOWS ? 'junction' : null);
        }
        else if (!(yield ioUtil.exists(destFile)) || force) {
            yield ioUtil.copyFile(srcFile, destFile);
        }
    });
}
//# sourceMappingURL=io.js.map
;// CONCATENATED MODULE: external "timers"
const external_timers_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("timers");
;// CONCATENATED MODULE: ./node_modules/@actions/exec/lib/toolrunner.js
var toolrunner_awaiter = (undefined && undefined.__awaiter) || function (thisArg, _arguments, P, generator) {
    function adopt(value) { return value instanceof P ? value : new P(function (resolve) { resolve(value); }); }
    return new (P || (P = Promise))(function (resolve, reject) {
        function fulfilled(value) { try { step(generator.next(value)); } catch (e) { reject(e); } }
        function rejected(value) { try { step(generator["throw"](value)); } catch (e) { reject(e); } }
        function step(result) { result.done ? resolve(result.value) : adopt(result.value).then(fulfilled, rejected); }
        step((generator = generator.apply(thisArg, _arguments || [])).next());
    });
};







/* eslint-disable @typescript-eslint/unbound-method */
const toolrunner_IS_WINDOWS = process.platform === 'win32';
/*
 * Class for running command line tools. Handles quoting and arg parsing in a platform agnostic way.
 */
class ToolRunner extends external_events_namespaceObject.EventEmitter {
    constructor(toolPath, args, options) {
        super();
        if (!toolPath) {
            throw new Error("Parameter 'toolPath' cannot be null or empty.");
        }
        this.toolPath = toolPath;
        this.args = args || [];
        this.options = options || {};
    }
    _debug(message) {
        if (this.options.listeners && this.options.listeners.debug) {
            this.options.listeners.debug(message);
        }
    }
    _getCommandString(options, noPrefix) {
        const toolPath = this._getSpawnFileName();
        const args = this._getSpawnArgs(options);
        let cmd = noPrefix ? '' : '[command]'; // omit prefix when piped to a second tool
        if (toolrunner_IS_WINDOWS) {
            // Windows + cmd file
            if (this._isCmdFile()) {
                cmd += toolPath;
                for (const a of args) {
                    cmd += ` ${a}`;
                }
            }
            // Windows + verbatim
            else if (options.windowsVerbatimArguments) {
                cmd += `"${toolPath}"`;
                for (const a of args) {
                    cmd += ` ${a}`;
                }
            }
            // Windows (regular)
            else {
                cmd += this._windowsQuoteCmdArg(toolPath);
                for (const a of args) {
                    cmd += ` ${this._windowsQuoteCmdArg(a)}`;
                }
            }
        }
        else {
            // OSX/Linux - this can likely be improved with some form of quoting.
            // creating processes on Unix is fundamentally different than Windows.
            // on Unix, execvp() takes an arg array.
            cmd += toolPath;
            for (const a of args) {
                cmd += ` ${a}`;
            }
        }
        return cmd;
    }
    _processLineBuffer(data, strBuffer, onLine) {
        try {
            let s = strBuffer + data.toString();
            let n = s.indexOf(external_os_namespaceObject.EOL);
            while (n > -1) {
                const line = s.substring(0, n);
                onLine(line);
                // the rest of the string ...
                s = s.substring(n + external_os_namespaceObject.EOL.length);
                n = s.indexOf(external_os_namespaceObject.EOL);
            }
            return s;
        }
        catch (err) {
            // streaming lines to console is best effort.  Don't fail a build.
            this._debug(`error processing line. Failed with error ${err}`);
            return '';
        }
    }
    _getSpawnFileName() {
        if (toolrunner_IS_WINDOWS) {
            if (this._isCmdFile()) {
                return process.env['COMSPEC'] || 'cmd.exe';
            }
        }
        return this.toolPath;
    }
    _getSpawnArgs(options) {
        if (toolrunner_IS_WINDOWS) {
            if (this._isCmdFile()) {
                let argline = `/D /S /C "${this._windowsQuoteCmdArg(this.toolPath)}`;
                for (const a of this.args) {
                    argline += ' ';
                    argline += options.windowsVerbatimArguments
                        ? a
                        : this._windowsQuoteCmdArg(a);
                }
                argline += '"';
                return [argline];
            }
        }
        return this.args;
    }
    _endsWith(str, end) {
        return str.endsWith(end);
    }
    _isCmdFile() {
        const upperToolPath = this.toolPath.toUpperCase();
        return (this._endsWith(upperToolPath, '.CMD') ||
            this._endsWith(upperToolPath, '.BAT'));
    }
    _windowsQuoteCmdArg(arg) {
        // for .exe, apply the normal quoting rules that libuv applies
        if (!this._isCmdFile()) {
            return this._uvQuoteCmdArg(arg);
        }
        // otherwise apply quoting rules specific to the cmd.exe command line parser.
        // the libuv rules are generic and are not designed specifically for cmd.exe
        // command line parser.
        //
        // for a detailed description of the cmd.exe command line parser, refer to
        // http://stackoverflow.com/questions/4094699/how-does-the-windows-command-interpreter-cmd-exe-parse-scripts/7970912#7970912
        // need quotes for empty arg
        if (!arg) {
            return '""';
        }
        // determine whether the arg needs to be quoted
        const cmdSpecialChars = [
            ' ',
            '\t',
            '&',
            '(',
            ')',
            '[',
            ']',
            '{',
            '}',
            '^',
            '=',
            ';',
            '!',
            "'",
            '+',
            ',',
            '`',
            '~',
            '|',
            '<',
            '>',
            '"'
        ];
        let needsQuotes = false;
        for (const char of arg) {
            if (cmdSpecialChars.some(x => x === char)) {
                needsQuotes = true;
                break;
            }
        }
        // short-circuit if quotes not needed
        if (!needsQuotes) {
            return arg;
        }
        // the following quoting rules are very similar to the rules that by libuv applies.
        //
        // 1) wrap the string in quotes
        //
        // 2) double-up quotes - i.e. " => ""
        //
        //    this is different from the libuv quoting rules. libuv replaces " with \", which unfortunately
        //    doesn't work well with a cmd.exe command line.
        //
        //    note, replacing " with "" also works well if the arg is passed to a downstream .NET console app.
        //    for example, the command line:
        //          foo.exe "myarg:""my val"""
        //    is parsed by a .NET console app into an arg array:
        //          [ "myarg:\"my val\"" ]
        //    which is the same end result when applying libuv quoting rules. although the actual
        //    command line from libuv quoting rules would look like:
        //          foo.exe "myarg:\"my val\""
        //
        // 3) double-up slashes that precede a quote,
        //    e.g.  hello \world    => "hello \world"
        //          hello\"world    => "hello\\""world"
        //          hello\\"world   => "hello\\\\""world"
        //          hello world\    => "hello world\\"
        //
        //    technically this is not required for a cmd.exe command line, or the batch argument parser.
        //    the reasons for including this as a .cmd quoting rule are:
        //
        //    a) this is optimized for the scenario where the argument is passed from the .cmd file to an
        //       external program. many programs (e.g. .NET console apps) rely on the slash-doubling rule.
        //
        //    b) it's what we've been doing previously (by deferring to node default behavior) and we
        //       haven't heard any complaints about that aspect.
        //
        // note, a weakness of the quoting rules chosen here, is that % is not escaped. in fact, % cannot be
        // escaped when used on the command line directly - even though within a .cmd file % can be escaped
        // by using %%.
        //
        // the saving grace is, on the command line, %var% is left as-is if var is not defined. this contrasts
        // the line parsing rules within a .cmd file, where if var is not defined it is replaced with nothing.
        //
        // one option that was explored was replacing % with ^% - i.e. %var% => ^%var^%. this hack would
        // often work, since it is unlikely that var^ would exist, and the ^ character is removed when the
        // variable is used. the problem, however, is that ^ is not removed when %* is used to pass the args
        // to an external program.
        //
        // an unexplored potential solution for the % escaping problem, is to create a wrapper .cmd file.
        // % can be escaped within a .cmd file.
        let reverse = '"';
        let quoteHit = true;
        for (let i = arg.length; i > 0; i--) {
            // walk the string in reverse
            reverse += arg[i - 1];
            if (quoteHit && arg[i - 1] === '\\') {
                reverse += '\\'; // double the slash
            }
            else if (arg[i - 1] === '"') {
                quoteHit = true;
                reverse += '"'; // double the quote
            }
            else {
                quoteHit = false;
            }
        }
        reverse += '"';
        return reverse.split('').reverse().join('');
    }
    _uvQuoteCmdArg(arg) {
        // Tool runner wraps child_process.spawn() and needs to apply the same quoting as
        // Node in certain cases where the undocumented spawn option windowsVerbatimArguments
        // is used.
        //
        // Since this function is a port of quote_cmd_arg from Node 4.x (technically, lib UV,
        // see https://github.com/nodejs/node/blob/v4.x/deps/uv/src/win/process.c for details),
        // pasting copyright notice from Node within this function:
        //
        //      Copyright Joyent, Inc. and other Node contributors. All rights reserved.
        //
        //      Permission is hereby granted, free of charge, to any person obtaining a copy
        //      of this software and associated documentation files (the "Software"), to
        //      deal in the Software without restriction, including without limitation the
        //      rights to use, copy, modify, merge, publish, distribute, sublicense, and/or
        //      sell copies of the Software, and to permit persons to whom the Software is
        //      furnished to do so, subject to the following conditions:
        //
        //      The above copyright notice and this permission notice shall be included in
        //      all copies or substantial portions of the Software.
        //
        //      THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
        //      IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
        //      FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
        //      AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
        //      LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING
        //      FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS
        //      IN THE SOFTWARE.
        if (!arg) {
            // Need double quotation for empty argument
            return '""';
        }
        if (!arg.includes(' ') && !arg.includes('\t') && !arg.includes('"')) {
            // No quotation needed
            return arg;
        }
        if (!arg.includes('"') && !arg.includes('\\')) {
            // No embedded double quotes or backslashes, so I can just wrap
            // quote marks around the whole thing.
            return `"${arg}"`;
        }
        // Expected input/output:
        //   input : hello"world
        //   output: "hello\"world"
        //   input : hello""world
        //   output: "hello\"\"world"
        //   input : hello\world
        //   output: hello\world
        //   input : hello\\world
        //   output: hello\\world
        //   input : hello\"world
        //   output: "hello\\\"world"
        //   input : hello\\"world
        //   output: "hello\\\\\"world"
        //   input : hello world\
        //   output: "hello world\\" - note the comment in libuv actually reads "hello world\"
        //                             but it appears the comment is wrong, it should be "hello world\\"
        let reverse = '"';
        let quoteHit = true;
        for (let i = arg.length; i > 0; i--) {
            // walk the string in reverse
            reverse += arg[i - 1];
            if (quoteHit && arg[i - 1] === '\\') {
                reverse += '\\';
            }
            else if (arg[i - 1] === '"') {
                quoteHit = true;
                reverse += '\\';
            }
            else {
                quoteHit = false;
            }
        }
        reverse += '"';
        return reverse.split('').reverse().join('');
    }
    _cloneExecOptions(options) {
        options = options || {};
        const result = {
            cwd: options.cwd || process.cwd(),
            env: options.env || process.env,
            silent: options.silent || false,
            windowsVerbatimArguments: options.windowsVerbatimArguments || false,
            failOnStdErr: options.failOnStdErr || false,
            ignoreReturnCode: options.ignoreReturnCode || false,
            delay: options.delay || 10000
        };
        result.outStream = options.outStream || process.stdout;
        result.errStream = options.errStream || process.stderr;
        return result;
    }
    _getSpawnOptions(options, toolPath) {
        options = options || {};
        const result = {};
        result.cwd = options.cwd;
        result.env = options.env;
        result['windowsVerbatimArguments'] =
            options.windowsVerbatimArguments || this._isCmdFile();
        if (options.windowsVerbatimArguments) {
            result.argv0 = `"${toolPath}"`;
        }
        return result;
    }
    /**
     * Exec a tool.
     * Output will be streamed to the live console.
     * Returns promise with return code
     *
     * @param     tool     path to tool to exec
     * @param     options  optional exec options.  See ExecOptions
     * @returns   number
     */
    exec() {
        return toolrunner_awaiter(this, void 0, void 0, function* () {
            // root the tool path if it is unrooted and contains relative pathing
            if (!isRooted(this.toolPath) &&
                (this.toolPath.includes('/') ||
                    (toolrunner_IS_WINDOWS && this.toolPath.includes('\\')))) {
                // prefer options.cwd if it is specified, however options.cwd may also need to be rooted
                this.toolPath = external_path_namespaceObject.resolve(process.cwd(), this.options.cwd || process.cwd(), this.toolPath);
            }
            // if the tool is only a file name, then resolve it from the PATH
            // otherwise verify it exists (add extension on Windows if necessary)
            this.toolPath = yield which(this.toolPath, true);
            return new Promise((resolve, reject) => toolrunner_awaiter(this, void 0, void 0, function* () {
                this._debug(`exec tool: ${this.toolPath}`);
                this._debug('arguments:');
                for (const arg of this.args) {
                    this._debug(`   ${arg}`);
                }
                const optionsNonNull = this._cloneExecOptions(this.options);
                if (!optionsNonNull.silent && optionsNonNull.outStream) {
                    optionsNonNull.outStream.write(this._getCommandString(optionsNonNull) + external_os_namespaceObject.EOL);
                }
                const state = new ExecState(optionsNonNull, this.toolPath);
                state.on('debug', (message) => {
                    this._debug(message);
                });
                if (this.options.cwd && !(yield exists(this.options.cwd))) {
                    return reject(new Error(`The cwd: ${this.options.cwd} does not exist!`));
                }
                const fileName = this._getSpawnFileName();
                const cp = external_child_process_namespaceObject.spawn(fileName, this._getSpawnArgs(optionsNonNull), this._getSpawnOptions(this.options, fileName));
                let stdbuffer = '';
                if (cp.stdout) {
                    cp.stdout.on('data', (data) => {
                        if (this.options.listeners && this.options.listeners.stdout) {
                            this.options.listeners.stdout(data);
                        }
                        if (!optionsNonNull.silent && optionsNonNull.outStream) {
                            optionsNonNull.outStream.write(data);
                        }
                        stdbuffer = this._processLineBuffer(data, stdbuffer, (line) => {
                            if (this.options.listeners && this.options.listeners.stdline) {
                                this.options.listeners.stdline(line);
                            }
                        });
                    });
                }
                let errbuffer = '';
                if (cp.stderr) {
                    cp.stderr.on('data', (data) => {
                        state.processStderr = true;
                        if (this.options.listeners && this.options.listeners.stderr) {
                            this.options.listeners.stderr(data);
                        }
                        if (!optionsNonNull.silent &&
                            optionsNonNull.errStream &&
                            optionsNonNull.outStream) {
                            const s = optionsNonNull.failOnStdErr
                                ? optionsNonNull.errStream
                                : optionsNonNull.outStream;
                            s.write(data);
                        }
                        errbuffer = this._processLineBuffer(data, errbuffer, (line) => {
                            if (this.options.listeners && this.options.listeners.errline) {
                                this.options.listeners.errline(line);
                            }
                        });
                    });
                }
                cp.on('error', (err) => {
                    state.processError = err.message;
                    state.processExited = true;
                    state.processClosed = true;
                    state.CheckComplete();
                });
                cp.on('exit', (code) => {
                    state.processExitCode = code;
                    state.processExited = true;
                    this._debug(`Exit code ${code} received from tool '${this.toolPath}'`);
                    state.CheckComplete();
                });
                cp.on('close', (code) => {
                    state.processExitCode = code;
                    state.processExited = true;
                    state.processClosed = true;
                    this._debug(`STDIO streams have closed for tool '${this.toolPath}'`);
                    state.CheckComplete();
                });
                state.on('done', (error, exitCode) => {
                    if (stdbuffer.length > 0) {
                        this.emit('stdline', stdbuffer);
                    }
                    if (errbuffer.length > 0) {
                        this.emit('errline', errbuffer);
                    }
                    cp.removeAllListeners();
                    if (error) {
                        reject(error);
                    }
                    else {
                        resolve(exitCode);
                    }
                });
                if (this.options.input) {
                    if (!cp.stdin) {
                        throw new Error('child process missing stdin');
                    }
                    cp.stdin.end(this.options.input);
                }
            }));
        });
    }
}
/**
 * Convert an arg string to an array of args. Handles escaping
 *
 * @param    argString   string of arguments
 * @returns  string[]    array of arguments
 */
function argStringToArray(argString) {
    const args = [];
    let inQuotes = false;
    let escaped = false;
    let arg = '';
    function append(c) {
        // we only escape double quotes.
        if (escaped && c !== '"') {
            arg += '\\';
        }
        arg += c;
        escaped = false;
    }
    for (let i = 0; i < argString.length; i++) {
        const c = argString.charAt(i);
        if (c === '"') {
            if (!escaped) {
                inQuotes = !inQuotes;
            }
            else {
                append(c);
            }
            continue;
        }
        if (c === '\\' && escaped) {
            append(c);
            continue;
        }
        if (c === '\\' && inQuotes) {
            escaped = true;
            continue;
        }
        if (c === ' ' && !inQuotes) {
            if (arg.length > 0) {
                args.push(arg);
                arg = '';
            }
            continue;
        }
        append(c);
    }
    if (arg.length > 0) {
        args.push(arg.trim());
    }
    return args;
}
class ExecState extends external_events_namespaceObject.EventEmitter {
    constructor(options, toolPath) {
        super();
        this.processClosed = false; // tracks whether the process has exited and stdio is closed
        this.processError = '';
        this.processExitCode = 0;
        this.processExited = false; // tracks whether the process has exited
        this.processStderr = false; // tracks whether stderr was written to
        this.delay = 10000; // 10 seconds
        this.done = false;
        this.timeout = null;
        if (!toolPath) {
            throw new Error('toolPath must not be empty');
        }
        this.options = options;
        this.toolPath = toolPath;
        if (options.delay) {
            this.delay = options.delay;
        }
    }
    CheckComplete() {
        if (this.done) {
            return;
        }
        if (this.processClosed) {
            this._setResult();
        }
        else if (this.processExited) {
            this.timeout = (0,external_timers_namespaceObject.setTimeout)(ExecState.HandleTimeout, this.delay, this);
        }
    }
    _debug(message) {
        this.emit('debug', message);
    }
    _setResult() {
        // determine whether there is an error
        let error;
        if (this.processExited) {
            if (this.processError) {
                error = new Error(`There was an error when attempting to execute the process '${this.toolPath}'. This may indicate the process failed to start. Error: ${this.processError}`);
            }
            else if (this.processExitCode !== 0 && !this.options.ignoreReturnCode) {
                error = new Error(`The process '${this.toolPath}' failed with exit code ${this.processExitCode}`);
            }
            else if (this.processStderr && this.options.failOnStdErr) {
                error = new Error(`The process '${this.toolPath}' failed because one or more lines were written to the STDERR stream`);
            }
        }
        // clear the timeout
        if (this.timeout) {
            clearTimeout(this.timeout);
            this.timeout = null;
        }
        this.done = true;
        this.emit('done', error, this.processExitCode);
    }
    static HandleTimeout(state) {
        if (state.done) {
            return;
        }
        if (!state.processClosed && state.processExited) {
            const message = `The STDIO streams did not close within ${state.delay / 1000} seconds of the exit event from process '${state.toolPath}'. This may indicate a child process inherited the STDIO streams and has not yet exited.`;
            state._debug(message);
        }
        state._setResult();
    }
}
//# sourceMappingURL=toolrunner.js.map
;// CONCATENATED MODULE: ./node_modules/@actions/exec/lib/exec.js
var exec_awaiter = (undefined && undefined.__awaiter) || function (thisArg, _arguments, P, generator) {
    function adopt(value) { return value instanceof P ? value : new P(function (resolve) { resolve(value); }); }
    return new (P || (P = Promise))(function (resolve, reject) {
        function fulfilled(value) { try { step(generator.next(value)); } catch (e) { reject(e); } }
        function rejected(value) { try { step(generator["throw"](value)); } catch (e) { reject(e); } }
        function step(result) { result.done ? resolve(result.value) : adopt(result.value).then(fulfilled, rejected); }
        step((generator = generator.apply(thisArg, _arguments || [])).next());
    });
};


/**
 * Exec a command.
 * Output will be streamed to the live console.
 * Returns promise with return code
 *
 * @param     commandLine        command to execute (can include additional args). Must be correctly escaped.
 * @param     args               optional arguments for tool. Escaping is handled by the lib.
 * @param     options            optional exec options.  See ExecOptions
 * @returns   Promise<number>    exit code
 */
function exec(commandLine, args, options) {
    return exec_awaiter(this, void 0, void 0, function* () {
        const commandArgs = argStringToArray(commandLine);
        if (commandArgs.length === 0) {
            throw new Error(`Parameter 'commandLine' cannot be null or empty.`);
        }
        // Path to tool to execute should be first arg
        const toolPath = commandArgs[0];
        args = commandArgs.slice(1).concat(args || []);
        const runner = new ToolRunner(toolPath, args, options);
        return runner.exec();
    });
}
/**
 * Exec a command and get the output.
 * Output will be streamed to the live console.
 * Returns promise with the exit code and collected stdout and stderr
 *
 * @param     commandLine           command to execute (can include additional args). Must be correctly escaped.
 * @param     args                  optional arguments for tool. Escaping is handled by the lib.
 * @param     options               optional exec options.  See ExecOptions
 * @returns   Promise<ExecOutput>   exit code, stdout, and stderr
 */
function getExecOutput(commandLine, args, options) {
    return exec_awaiter(this, void 0, void 0, function* () {
        var _a, _b;
        let stdout = '';
        let stderr = '';
        //Using string decoder covers the case where a mult-byte character is split
        const stdoutDecoder = new StringDecoder('utf8');
        const stderrDecoder = new StringDecoder('utf8');
        const originalStdoutListener = (_a = options === null || options === void 0 ? void 0 : options.listeners) === null || _a === void 0 ? void 0 : _a.stdout;
        const originalStdErrListener = (_b = options === null || options === void 0 ? void 0 : options.listeners) === null || _b === void 0 ? void 0 : _b.stderr;
        const stdErrListener = (data) => {
            stderr += stderrDecoder.write(data);
            if (originalStdErrListener) {
                originalStdErrListener(data);
            }
        };
        const stdOutListener = (data) => {
            stdout += stdoutDecoder.write(data);
            if (originalStdoutListener) {
                originalStdoutListener(data);
            }
        };
        const listeners = Object.assign(Object.assign({}, options === null || options === void 0 ? void 0 : options.listeners), { stdout: stdOutListener, stderr: stdErrListener });
        const exitCode = yield exec(commandLine, args, Object.assign(Object.assign({}, options), { listeners }));
        //flush any remaining characters
        stdout += stdoutDecoder.end();
        stderr += stderrDecoder.end();
        return {
            exitCode,
            stdout,
            stderr
        };
    });
}
//# sourceMappingURL=exec.js.map
;// CONCATENATED MODULE: external "node:child_process"
const external_node_child_process_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:child_process");
;// CONCATENATED MODULE: ./src/process.ts
// The one way warmstart starts a process, in two shapes that share one error shape (what failed,
// its exit code, the end of its stderr):
// - runCommand: a command run to completion with its output collected (echoed into the log when
//   asked), stopped at a time limit when given one. It is a CommandRunner: the seam the unit tests
//   replace with a played host (__tests__/fakes/fake-host.ts).
// - runShell: a user's shell command (the warm-up, `cmd:` probes), each output line handed on.
// - startPipeline: a process that moves bytes (tar, zstd, find's listing), its stdin and stdout
//   wired by the caller. These decide nothing; the tests run them for real.


/** How long a stopped command gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 5000;
const runCommand = (argv, options = {}) => new Promise((resolve, reject) => {
    const [file, ...args] = argv;
    const env = options.env ? { ...process.env, ...options.env } : process.env;
    const child = (0,external_node_child_process_namespaceObject.spawn)(file, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text) => {
        stdout += text;
        if (options.echo)
            process.stdout.write(text);
    });
    child.stderr.setEncoding('utf8').on('data', (text) => {
        stderr += text;
        if (options.echo)
            process.stderr.write(text);
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
    let timedOut = false;
    const timers = [];
    const finish = (exitCode) => {
        for (const timer of timers)
            clearTimeout(timer);
        resolve({ exitCode, stdout, stderr, ...(timedOut ? { timedOut } : {}) });
    };
    if (options.timeoutSeconds !== undefined) {
        timers.push(setTimeout(() => {
            timedOut = true;
            child.kill('SIGTERM');
            timers.push(setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS));
            // What it started may hold its output open: do not wait for that once it has exited.
            child.once('exit', () => {
                child.stdout.destroy();
                child.stderr.destroy();
                finish(124);
            });
        }, options.timeoutSeconds * 1000));
    }
    child.once('error', (error) => {
        for (const timer of timers)
            clearTimeout(timer);
        reject(new Error(`${file}: cannot start: ${error.message}`));
    });
    child.once('close', (code, signal) => {
        if (timedOut)
            return finish(124);
        finish(code ?? (signal ? 128 : 1));
    });
});
/** `what failed (exit N): the last lines it printed` */
function describeFailure(what, exitCode, stderr) {
    const said = stderr.trim().split('\n').slice(-4).join('\n');
    return `${what} failed (exit ${exitCode})${said ? `: ${said}` : ''}`;
}
/** Starts a process whose stdin and stdout the caller wires; `what` names it in errors. */
function startPipeline(argv, what, stdio = {}) {
    const child = (0,external_node_child_process_namespaceObject.spawn)(argv[0], argv.slice(1), {
        stdio: [stdio.stdin ?? 'ignore', stdio.stdout ?? 'pipe', 'pipe']
    });
    let stderr = '';
    child.stderr?.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise((resolve, reject) => {
        child.on('error', (error) => reject(new Error(`${what}: cannot start: ${error.message}`)));
        child.on('close', (code) => code === 0 ? resolve() : reject(new Error(describeFailure(what, code, stderr))));
    });
    // Awaited by the caller; until then a failure must not go unhandled.
    exited.catch(() => undefined);
    return { child, exited };
}
/** Runs a process to completion and returns its stdout as bytes (paths are bytes, not text). */
async function collectOutput(argv, what) {
    const { child, exited } = startPipeline(argv, what);
    const chunks = [];
    child.stdout?.on('data', (chunk) => chunks.push(chunk));
    await exited;
    return Buffer.concat(chunks);
}
/** Runs `sh -c COMMAND` (a warm-up, a `cmd:` probe); returns its exit code. */
async function runShell(command, options = {}) {
    const onLine = options.onLine ?? (() => undefined);
    return exec('sh', ['-c', command], {
        ignoreReturnCode: true,
        silent: true,
        env: { ...process.env, ...options.env },
        listeners: { stdline: onLine, errline: onLine }
    });
}

;// CONCATENATED MODULE: ./src/podman.ts

/** `restore --print-stats` output: JSON (microseconds) naming the restored container. */
function parseRestoreStats(output) {
    const parsed = JSON.parse(output);
    const container = parsed.container_statistics?.[0] ?? {};
    const criu = container.criu_statistics ?? {};
    const seconds = (microseconds = 0) => Math.round(microseconds / 1000) / 1000;
    return {
        id: container.Id ?? '',
        stats: {
            podman: seconds(parsed.podman_restore_duration),
            runtime: seconds(container.runtime_restore_duration),
            criu: seconds((criu.restore_time ?? 0) + (criu.forking_time ?? 0)),
            pages: criu.pages_restored ?? 0
        }
    };
}
function runArgs(options) {
    const argv = ['run', '--detach', '--name', options.name];
    if (options.replace)
        argv.push('--replace');
    for (const port of options.ports ?? [])
        argv.push('--publish', port);
    // `--env NAME` copies the value from podman's own environment: secrets stay out of argv
    // (visible in `ps`) and out of warmstart's debug log.
    for (const name of Object.keys(options.env ?? {}).sort())
        argv.push('--env', name);
    argv.push(...(options.options ?? []), options.image, ...(options.command ?? []));
    return argv;
}
function checkpointArgs(container, options) {
    const argv = ['container', 'checkpoint', '--export', options.exportPath];
    argv.push('--compress', options.compress ?? 'zstd');
    if (options.leaveRunning)
        argv.push('--leave-running');
    if (options.keep)
        argv.push('--keep');
    if (options.ignoreVolumes)
        argv.push('--ignore-volumes');
    if (options.fileLocks)
        argv.push('--file-locks');
    if (options.tcpEstablished)
        argv.push('--tcp-established');
    argv.push(container);
    return argv;
}
function restoreArgs(options) {
    const argv = ['container', 'restore'];
    if (options.importPath) {
        argv.push('--import', options.importPath);
        if (options.ignoreVolumes)
            argv.push('--ignore-volumes');
    }
    else
        argv.push('--keep');
    if (options.name)
        argv.push('--name', options.name);
    for (const port of options.ports ?? [])
        argv.push('--publish', port);
    if (options.fileLocks)
        argv.push('--file-locks');
    if (options.tcpEstablished)
        argv.push('--tcp-established');
    if (options.printStats)
        argv.push('--print-stats');
    if (!options.importPath) {
        if (!options.container)
            throw new Error('restore needs an archive to import or a container');
        argv.push(options.container);
    }
    return argv;
}
/**
 * What runs before `podman`: nothing as root, else `sudo -n` (GitHub's runners), which must be
 * told to keep the variables whose values `--env NAME` reads from podman's environment.
 */
function commandPrefix(uid, envNames = []) {
    if (uid === 0)
        return [];
    // podman's configuration files, when the job or warmstart's install chose them, survive sudo.
    for (const name of [
        'CONTAINERS_CONF',
        'CONTAINERS_CONF_OVERRIDE',
        'CONTAINERS_REGISTRIES_CONF'
    ]) {
        if (process.env[name])
            envNames = [...envNames, name];
    }
    return envNames.length ? ['sudo', '-n', `--preserve-env=${envNames.join(',')}`] : ['sudo', '-n'];
}
/** The CRIU log file podman names when runc's checkpoint or restore fails. */
function criuLogPath(stderr) {
    // podman prints `log file: /var/lib/containers/.../userdata/dump.log`, sometimes inside a
    // quoted, escaped error message (`\nlog file: ...`).
    const match = /log file: (\/[^\s"\\]+\.log)/.exec(stderr);
    return match?.[1];
}
// CRIU logs this on every run on hosts without CAP_SYS_RESOURCE and carries on: not a reason.
const HARMLESS_CRIU_ERRORS = [/Can't setup RLIMIT_NOFILE for self/];
/** The `Error (...)` lines of a CRIU log: where the real reason of a failure is. */
function criuErrorLines(log, max = 8) {
    return log
        .split('\n')
        .filter((line) => /\bError \(/.test(line))
        .filter((line) => !HARMLESS_CRIU_ERRORS.some((pattern) => pattern.test(line)))
        .map((line) => line.replace(/^\(\s*[\d.]+\)\s*/, '').trim())
        .slice(0, max);
}
function tail(text, lines) {
    return text.trimEnd().split('\n').slice(-lines).join('\n');
}
// Kills every process whose command line matches $1 (a container id, or a pattern: pgrep -f),
// descendants first.
const KILL_PROCESS_TREES = `
tree() { for child in $(pgrep -P "$1"); do tree "$child"; done; echo "$1"; }
for pid in $(pgrep -f -- "$1"); do [ "$pid" = $$ ] || kill -9 $(tree "$pid") 2>/dev/null; done
true`;
/** A podman command stopped at its time limit (a checkpoint or restore that hung). */
class PodmanTimeoutError extends Error {
    argv;
    timeoutSeconds;
    constructor(argv, timeoutSeconds, stderrTail) {
        super(`podman ${argv.join(' ')} did not finish within ${timeoutSeconds} s and was stopped${stderrTail ? `; it said: ${stderrTail}` : ''}`);
        this.argv = argv;
        this.timeoutSeconds = timeoutSeconds;
        this.name = 'PodmanTimeoutError';
    }
}
/** A failed podman command: what ran, how it ended, and why if anyone said. */
class PodmanError extends Error {
    argv;
    exitCode;
    stderrTail;
    criuErrors;
    constructor(argv, exitCode, stderrTail, criuErrors = []) {
        super(podman_describeFailure(argv, exitCode, stderrTail, criuErrors));
        this.argv = argv;
        this.exitCode = exitCode;
        this.stderrTail = stderrTail;
        this.criuErrors = criuErrors;
        this.name = 'PodmanError';
    }
}
function podman_describeFailure(argv, exitCode, stderrTail, criuErrors) {
    const lines = [`podman ${argv.join(' ')} exited with ${exitCode}`];
    if (stderrTail)
        lines.push(stderrTail);
    if (criuErrors.length)
        lines.push('CRIU log:', ...criuErrors.map((line) => `  ${line}`));
    const hints = criuHints([stderrTail, ...criuErrors].join('\n'));
    if (hints.length)
        lines.push(...hints.map((hint) => `What to do: ${hint}`));
    return lines.join('\n');
}
/** CRIU failures whose cause and fix are known, by what CRIU says. */
const CRIU_HINTS = [
    [
        /Connected TCP socket, consider using|Connected TCP socket in image/,
        'a TCP connection was open (or reset but not yet closed by the service) at checkpoint time: let the warm-up close its connections before it ends, or set tcp-established: true to keep them'
    ],
    [
        /Can't get rlimit \d+: Operation not permitted/,
        "root here may not read another user's limits (no CAP_SYS_RESOURCE): publish the same port on both sides so that warmstart can use a user namespace (docs/host-setup.md)"
    ],
    [
        /Some file locks are hold by dumping tasks|Some file locks are held/,
        'the service holds file locks: keep file-locks: true (the default)'
    ],
    [
        /Need to set the --tcp-close option/,
        'the checkpoint was made with tcp-close, but CRIU did not get it for the restore: warmstart writes it to /etc/warmstart/criu/ before a restore; check that root can write there'
    ],
    [
        /can't write lsm profile/,
        "podman's AppArmor profile is not loaded on this host: warmstart loads it before a restore; if this persists, run one container of the image first"
    ]
];
/** The fixes for the known causes in a failure's text; empty when none is recognised. */
function criuHints(text) {
    return CRIU_HINTS.filter(([pattern]) => pattern.test(text)).map(([, hint]) => hint);
}
class Podman {
    runner;
    /** The uid warmstart runs as: podman and root-only file work go through `sudo -n` unless 0. */
    uid;
    logger;
    constructor(options = {}) {
        this.runner = options.runner ?? runCommand;
        this.uid = options.uid ?? process.getuid?.() ?? 0;
        this.logger = options.logger;
    }
    /** Runs `podman ARGV`; throws PodmanError on a non-zero exit. */
    async podman(argv, options = {}) {
        const result = await this.attempt(argv, options);
        if (result.timedOut) {
            throw new PodmanTimeoutError(argv, options.timeoutSeconds ?? 0, tail(result.stderr, 3));
        }
        if (result.exitCode !== 0)
            throw await this.failure(argv, result);
        return result.stdout;
    }
    /** Runs `podman ARGV` and returns how it ended, whatever the exit code. */
    async attempt(argv, options = {}) {
        this.logger?.debug(`podman ${argv.join(' ')}`);
        const prefix = commandPrefix(this.uid, Object.keys(options.env ?? {}));
        return this.runner([...prefix, 'podman', ...argv], {
            env: options.env,
            timeoutSeconds: options.timeoutSeconds
        });
    }
    async run(options) {
        return (await this.podman(runArgs(options), { env: options.env })).trim();
    }
    /** Runs a command inside a running container; returns its result, whatever the exit code. */
    async exec(container, command) {
        return this.attempt(['exec', container, ...command]);
    }
    async inspectContainer(container) {
        const parsed = JSON.parse(await this.podman(['container', 'inspect', container]));
        return parsed[0];
    }
    async inspectImage(image) {
        const parsed = JSON.parse(await this.podman(['image', 'inspect', image]));
        return parsed[0];
    }
    async containerExists(container) {
        return (await this.attempt(['container', 'exists', container])).exitCode === 0;
    }
    async imageExists(image) {
        return (await this.attempt(['image', 'exists', image])).exitCode === 0;
    }
    async checkpoint(container, options) {
        await this.podman(checkpointArgs(container, options), {
            timeoutSeconds: options.timeoutSeconds
        });
        if (this.uid !== 0) {
            // podman writes the archive as root, mode 0600: hand it to the user warmstart runs as,
            // who hashes and uploads it.
            const owner = `${this.uid}:${process.getgid?.() ?? this.uid}`;
            const chown = await this.runner([
                ...commandPrefix(this.uid),
                'chown',
                owner,
                options.exportPath
            ]);
            if (chown.exitCode !== 0)
                throw new PodmanError(['chown', owner, options.exportPath], chown.exitCode, tail(chown.stderr, 3));
        }
    }
    /**
     * Restores a container from an exported checkpoint, or in place; returns the container's id,
     * and with `printStats` where the time went.
     */
    async restore(options) {
        const output = await this.podman(restoreArgs(options), {
            timeoutSeconds: options.timeoutSeconds
        }).catch(async (error) => {
            const name = options.name ?? options.container;
            if (error instanceof PodmanTimeoutError && name)
                await this.killStrandedRestore(name);
            throw error;
        });
        if (options.printStats)
            return parseRestoreStats(output);
        const lines = output.trim().split('\n');
        return { id: lines[lines.length - 1] ?? '' };
    }
    /**
     * One `podman rm`: a missing container is not an error, but a busy one can be (see
     * forceRemove, which callers should use).
     */
    async rm(container) {
        // --volumes: the anonymous volumes of the image's VOLUME paths go with the container.
        await this.podman(['rm', '--force', '--ignore', '--volumes', '--time', '5', container]);
    }
    /**
     * Removes a container whatever state it is in, and every runtime process still naming it.
     * `podman rm` can fail on a container a failed restore left half-made (a hung CRIU still holds
     * it) or while its cleanup still holds the shm mount ("device or resource busy"): then those
     * processes (runc, conmon, CRIU under them) are killed and removal is tried again. It can also
     * succeed and leave them: a restore stopped at its time limit leaves conmon holding the
     * service's host port and the runtime hanging, so they are killed after a removal too.
     */
    async forceRemove(container) {
        for (let attempt = 1;; attempt++) {
            const id = (await this.attempt(['container', 'inspect', '--format', '{{.Id}}', container])).stdout.trim();
            const killRuntime = async () => {
                if (!/^[0-9a-f]{64}$/.test(id))
                    return;
                this.logger?.debug(`killing the runtime processes of ${container} (${id})`);
                await this.runner([...commandPrefix(this.uid), 'sh', '-c', KILL_PROCESS_TREES, 'sh', id]);
            };
            try {
                await this.rm(container);
                await killRuntime();
                return;
            }
            catch (error) {
                if (attempt === 3)
                    throw error;
                await killRuntime();
                await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
            }
        }
    }
    /**
     * Kills what a restore stopped at its time limit left running. podman, stopped, drops the
     * container it was making, but its conmon (holding the service's host port) and the runtime
     * under it, hung in CRIU, run on: found by conmon's `-n NAME`, they are killed with their trees.
     */
    async killStrandedRestore(name) {
        const pattern = `^[^ ]*conmon .* -n ${name.replace(/\./g, '\\.')} `;
        this.logger?.debug(`killing what the stopped restore of ${name} left running`);
        await this.runner([...commandPrefix(this.uid), 'sh', '-c', KILL_PROCESS_TREES, 'sh', pattern]);
    }
    /** The users (as the container names them) its processes run as: `podman top NAME user`. */
    async processUsers(container) {
        const lines = (await this.podman(['top', container, 'user'])).trim().split('\n');
        return lines
            .slice(1)
            .map((line) => line.trim())
            .filter(Boolean);
    }
    /** Names of the containers that publish host port `port`. */
    async containersPublishing(port) {
        const listed = JSON.parse(await this.podman(['ps', '--format', 'json']));
        return listed
            .filter((entry) => (entry.Ports ?? []).some((p) => port >= p.host_port && port < p.host_port + Math.max(1, p.range ?? 1)))
            .map((entry) => entry.Names[0] ?? '');
    }
    async inspectVolume(name) {
        const parsed = JSON.parse(await this.podman(['volume', 'inspect', name]));
        return parsed[0];
    }
    async volumeExists(name) {
        return (await this.attempt(['volume', 'exists', name])).exitCode === 0;
    }
    /**
     * Creates a volume whose directory belongs to uid:gid (a user namespace's root, say); with
     * `memory`, a tmpfs (mounted while it is in use: see mountVolume).
     */
    async createVolume(name, options) {
        const argv = ['volume', 'create'];
        if (options.memory)
            argv.push('--opt', 'type=tmpfs', '--opt', 'device=tmpfs');
        argv.push('--opt', `o=uid=${options.uid},gid=${options.gid}`);
        for (const [label, value] of Object.entries(options.labels))
            argv.push('--label', `${label}=${value}`);
        await this.podman([...argv, name]);
    }
    /**
     * Mounts a volume and holds it mounted until unmountVolume (podman counts mounts and unmounts
     * at zero: a tmpfs volume's files would vanish when its container stops). Returns the path.
     */
    async mountVolume(name) {
        return (await this.podman(['volume', 'mount', name])).trim();
    }
    async unmountVolume(name) {
        await this.podman(['volume', 'unmount', name]);
    }
    async removeVolume(name) {
        await this.podman(['volume', 'rm', '--force', name]);
    }
    /** Names of the volumes carrying `label=value`. */
    async volumesLabelled(label, value) {
        const out = await this.podman([
            'volume',
            'ls',
            '--quiet',
            '--filter',
            `label=${label}=${value}`
        ]);
        return out.split('\n').filter(Boolean);
    }
    /** Names of the containers, running or not, that mount volume `name`. */
    async containersUsingVolume(name) {
        const out = await this.podman([
            'ps',
            '--all',
            '--filter',
            `volume=${name}`,
            '--format',
            '{{.Names}}'
        ]);
        return out.split('\n').filter(Boolean);
    }
    /**
     * Writes a root-owned file of mode 0644 (a configuration runc and CRIU read), atomically:
     * two jobs on one self-hosted runner may write it at once.
     */
    async writeRootFile(path, content) {
        const script = 'mkdir -p "$(dirname "$1")" && cat > "$1.$$" && chmod 0644 "$1.$$" && mv -f "$1.$$" "$1"';
        const argv = [...commandPrefix(this.uid), 'sh', '-c', script, 'sh', path];
        const result = await this.runner(argv, { input: content });
        if (result.exitCode !== 0) {
            throw new Error(describeFailure(`writing ${path}`, result.exitCode, result.stderr));
        }
    }
    /** The argv that runs `argv` as root: as is when root, else through `sudo -n`. */
    asRoot(argv) {
        return [...commandPrefix(this.uid), ...argv];
    }
    async pull(image) {
        await this.podman(['pull', '--quiet', image]);
    }
    async tag(image, name) {
        await this.podman(['tag', image, name]);
    }
    /**
     * The manifest digest, raw config and user of an image in its registry, without pulling its layers (skopeo, run as
     * podman is, so that it sees the same registries and credentials). Throws when skopeo is
     * missing or the registry cannot be asked.
     */
    async inspectRemoteImage(image) {
        const skopeo = async (argv) => {
            const result = await this.runner([...commandPrefix(this.uid), 'skopeo', ...argv]);
            if (result.exitCode !== 0) {
                throw new PodmanError(['skopeo', ...argv], result.exitCode, tail(result.stderr, 3));
            }
            return result.stdout;
        };
        const reference = `docker://${image}`;
        // skopeo does not read CONTAINERS_REGISTRIES_CONF as podman does: hand it over.
        const registries = process.env.CONTAINERS_REGISTRIES_CONF;
        const global = registries ? ['--registries-conf', registries] : [];
        // The config as the registry serves it, byte for byte: its digest is the image's ID.
        const [digest, rawConfig] = await Promise.all([
            skopeo([...global, 'inspect', '--no-tags', '--format', '{{.Digest}}', reference]),
            skopeo([...global, 'inspect', '--config', '--raw', reference])
        ]);
        const user = JSON.parse(rawConfig).config?.User;
        return { digest: digest.trim(), rawConfig, user: user || undefined };
    }
    async logs(container, lines = 20) {
        const result = await this.attempt(['logs', '--tail', String(lines), container]);
        return (result.stdout + result.stderr).trim();
    }
    async version() {
        return JSON.parse(await this.podman(['version', '--format', 'json']));
    }
    async info() {
        return JSON.parse(await this.podman(['info', '--format', 'json']));
    }
    /** Shapes a failure; for a checkpoint or restore, adds the CRIU log's error lines. */
    async failure(argv, result) {
        const logPath = criuLogPath(result.stderr);
        let criuErrors = [];
        if (logPath) {
            const log = await this.runner([...commandPrefix(this.uid), 'cat', logPath]);
            if (log.exitCode === 0)
                criuErrors = criuErrorLines(log.stdout);
        }
        return new PodmanError(argv, result.exitCode, tail(result.stderr, 6), criuErrors);
    }
}

;// CONCATENATED MODULE: ./src/format.ts
// How errors and sizes read in warmstart's messages.

function message(error) {
    return error instanceof PodmanError || error instanceof Error ? error.message : String(error);
}
function formatBytes(bytes) {
    if (bytes < 1024)
        return `${bytes} B`;
    const units = ['KiB', 'MiB', 'GiB', 'TiB'];
    let value = bytes / 1024;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
        value /= 1024;
        unit++;
    }
    return `${value.toFixed(1)} ${units[unit]}`;
}

;// CONCATENATED MODULE: ./src/host/userns.ts
// Why some services need a user namespace to be checkpointed, and on which hosts.
//
// CRIU reads the resource limits of every process it dumps (prlimit). For a process of another
// uid that needs CAP_SYS_RESOURCE over it. Some hosts withhold that capability even from root
// (it is missing from the bounding set): a service that runs as a non-root user, PostgreSQL's
// `postgres` for one, then fails to dump with `Can't get rlimit 0: Operation not permitted`.
// GitHub's runners have the capability under `sudo`, so none of this applies there.
//
// The way round it: run the container in its own user namespace. Root outside owns that namespace
// and so holds every capability inside it, CAP_SYS_RESOURCE included. Two podman 4 limits come
// with it: a user-namespaced container's network is not restored (it comes back without an IP),
// so it uses the host's network; and sysfs cannot be mounted there, so /sys is a tmpfs. With the
// host's network, ports cannot be published: the service listens on the host port directly.

const CAP_SYS_RESOURCE = 24n;
/** Whether a capability set, as `/proc/self/status` prints it (`CapBnd: 000001fffeffffff`), holds CAP_SYS_RESOURCE. */
function hasSysResource(capabilityHex) {
    return ((BigInt(`0x${capabilityHex.trim()}`) >> CAP_SYS_RESOURCE) & 1n) === 1n;
}
/** The bounding capability set from the text of `/proc/self/status`. */
function boundingSet(procStatus) {
    return /^CapBnd:\s*([0-9a-f]+)$/m.exec(procStatus)?.[1];
}
/** Whether root on this host may read other users' rlimits, which CRIU needs to dump them. */
function hostCanDumpOtherUsers(procStatus = (0,external_node_fs_namespaceObject.readFileSync)('/proc/self/status', 'utf8')) {
    const set = boundingSet(procStatus);
    return set === undefined ? true : hasSysResource(set);
}
/** Whether an image's configured user is someone other than root. */
function runsAsNonRoot(imageUser) {
    const user = (imageUser ?? '').split(':')[0] ?? '';
    return user !== '' && user !== 'root' && user !== '0';
}
/** The `podman run` options that make a non-root service checkpointable on such a host. */
const USERNS_RUN_OPTIONS = [
    '--uidmap=0:100000:65536',
    '--gidmap=0:100000:65536',
    '--network=host',
    '--tmpfs=/sys'
];
/** Whether a service must run in a user namespace here to be checkpointed. */
function needsUserNamespace(host, imageUser) {
    return !host.canDumpOtherUsers && runsAsNonRoot(imageUser);
}
function decideUserNamespace(host, imageUser, ports) {
    if (host.canDumpOtherUsers)
        return 'plain';
    const sameNumbers = ports.every((port) => port.host === port.container);
    if (needsUserNamespace(host, imageUser))
        return sameNumbers ? 'userns' : 'no-checkpoint';
    // A root image: the user namespace dumps whatever uid it drops to, when its ports allow the
    // host network; a service without ports stays off it (it would take its port on the host).
    return ports.length && sameNumbers ? 'userns' : 'plain-check-uids';
}
/** The users (names or uids) of a container's processes that are not root. */
function nonRootUsers(users) {
    return [...new Set(users.filter((user) => user !== 'root' && user !== '0'))];
}

;// CONCATENATED MODULE: ./src/image.ts
// The service's image: what the cache key knows it by, and how a missing one is brought here.
//
// The key's identity of an image is its config digest, which is podman's image ID. A manifest
// digest names one encoding of the image (its compression, its manifest format): pushing the
// image recompresses it, a registry may convert it, and podman then lists several repository
// digests for one name, so a key built from one of them changes with the image's history. The
// config digest names the image's content (its config lists the layers' uncompressed digests):
// it is the same here, after a push, a retag or a pull by digest, and it is known from the
// registry without pulling a layer (`skopeo inspect --config --raw`), which the fresh-runner path
// needs to compose the key before the image is here.
//
// Reading (readImage) is apart from acting (fetchImage): `warmstart key` reads the same facts as
// `up` and composes the same key, and only `up` pulls.

/** `registry:5000/ns/name:tag` -> `registry:5000/ns/name`; a digest is stripped too. */
function repositoryOf(image) {
    const withoutDigest = image.split('@')[0] ?? image;
    const lastSlash = withoutDigest.lastIndexOf('/');
    const lastColon = withoutDigest.lastIndexOf(':');
    return lastColon > lastSlash ? withoutDigest.slice(0, lastColon) : withoutDigest;
}
/** The reference that pulls exactly `digest` of the image's repository. */
function digestReference(image, digest) {
    return `${repositoryOf(image)}@${digest}`;
}
/** The identity of an image that is here: its ID, which is its config digest. */
function identityOfLocal(info) {
    return info.Id.startsWith('sha256:') ? info.Id : `sha256:${info.Id}`;
}
/** The identity of an image from its config's bytes as the registry serves them. */
function identityOfConfig(rawConfig) {
    return `sha256:${(0,external_node_crypto_namespaceObject.createHash)('sha256').update(rawConfig).digest('hex')}`;
}
/**
 * The image as it is here, else as its registry describes it (without pulling). Never pulls,
 * never throws: an image that cannot be found anywhere is `unknown`, with the reason.
 */
async function readImage(podman, image) {
    const local = await podman.inspectImage(image).catch(() => undefined);
    if (local) {
        return {
            where: 'here',
            identity: identityOfLocal(local),
            user: local.Config?.User || undefined
        };
    }
    try {
        const remote = await podman.inspectRemoteImage(image);
        return {
            where: 'registry',
            identity: identityOfConfig(remote.rawConfig),
            user: remote.user,
            pullReference: digestReference(image, remote.digest)
        };
    }
    catch (error) {
        return {
            where: 'unknown',
            reason: `${image} is not here and its registry could not be asked (${error instanceof Error ? error.message : String(error)})`
        };
    }
}
/**
 * Brings an image known from its registry here, pulled by the digest the key was composed from
 * and tagged with the spec's name (so that podman finds it under that name); settles at once for
 * an image already here. The pull runs while the checkpoint is looked up and downloaded: the
 * promise is awaited where the image is needed, and never rejects unhandled meanwhile.
 */
function fetchImage(podman, image, facts, timings) {
    if (facts.where !== 'registry' || !facts.pullReference)
        return Promise.resolve();
    const reference = facts.pullReference;
    const ready = timings.time('pull', async () => {
        await podman.pull(reference);
        if (!image.includes('@'))
            await podman.tag(reference, image);
    });
    ready.catch(() => undefined);
    return ready;
}

;// CONCATENATED MODULE: ./src/timings.ts
// Seconds spent in each phase of `up`, for the log, the CLI's --json and the job summary.
class Timings {
    started = performance.now();
    spent = {};
    /** Runs `work` and adds its duration to `phase` (a phase may run more than once). */
    async time(phase, work) {
        const start = performance.now();
        try {
            return await work();
        }
        finally {
            this.spent[phase] = round((this.spent[phase] ?? 0) + (performance.now() - start) / 1000);
        }
    }
    sinceStart() {
        return round((performance.now() - this.started) / 1000);
    }
    phases() {
        return { ...this.spent };
    }
}
/** `start 1.2 s, ready 0.3 s`: the phases as the log, the CLI and the job summary show them. */
function describePhases(timings) {
    return Object.entries(timings)
        .map(([phase, seconds]) => `${phase} ${seconds.toFixed(1)} s`)
        .join(', ');
}
function round(seconds) {
    return Math.round(seconds * 1000) / 1000;
}

;// CONCATENATED MODULE: external "node:events"
const external_node_events_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:events");
;// CONCATENATED MODULE: external "node:fs/promises"
const promises_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:fs/promises");
;// CONCATENATED MODULE: external "node:stream"
const external_node_stream_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:stream");
;// CONCATENATED MODULE: ./src/archive/source.ts
// Where a stored archive's bytes are read from: a local file (the local directory, the Actions
// cache's download, an archive just made), or a store that streams each part from elsewhere (an
// OCI registry, whose parts are blobs). The restore reads every part through this, once or
// twice (a volume's slice 0 is listed, then unpacked), and checks each part's SHA-256 itself;
// from a local file, root's dd reads a part for its tar and warmstart hashes the same range on
// its own read (sha256OfRange): piping every byte through Node costs CPU the unpack needs.



/** The options of createReadStream that read `range` (its `end` is inclusive). */
function streamRange(range) {
    if (!range)
        return {};
    return { start: range.offset, end: range.offset + range.bytes - 1 };
}
/** An archive in a local file. Throws (ENOENT) when there is none. */
function fileSource(path) {
    const bytes = (0,external_node_fs_namespaceObject.statSync)(path).size;
    return {
        bytes,
        path,
        // createReadStream has no empty range (its `end` is inclusive).
        read: (range) => range?.bytes === 0 ? external_node_stream_namespaceObject.Readable.from([]) : (0,external_node_fs_namespaceObject.createReadStream)(path, streamRange(range))
    };
}
/** Large reads: a part is read once, start to end, and the hash costs per call (64 KiB by default). */
const READ_CHUNK = 1 << 20;
/** The SHA-256 of `range` of a local file, read on its own (a truncated file hashes short). */
async function sha256OfRange(path, range) {
    const hash = (0,external_node_crypto_namespaceObject.createHash)('sha256');
    if (range.bytes > 0) {
        const stream = (0,external_node_fs_namespaceObject.createReadStream)(path, { ...streamRange(range), highWaterMark: READ_CHUNK });
        for await (const chunk of stream)
            hash.update(chunk);
    }
    return hash.digest('hex');
}
/** Up to `length` bytes of a local file from `offset` (fewer at its end). */
function readHead(path, offset, length) {
    const fd = (0,external_node_fs_namespaceObject.openSync)(path, 'r');
    try {
        const buffer = Buffer.alloc(length);
        return buffer.subarray(0, (0,external_node_fs_namespaceObject.readSync)(fd, buffer, 0, length, offset));
    }
    finally {
        (0,external_node_fs_namespaceObject.closeSync)(fd);
    }
}
/** The stream's first chunk, and a stream of all of it (that chunk included). */
async function peek(source) {
    const chunks = source[Symbol.asyncIterator]();
    const head = await chunks.next();
    const first = head.done ? undefined : head.value;
    const rest = { [Symbol.asyncIterator]: () => chunks };
    async function* all() {
        if (first)
            yield first;
        for await (const chunk of rest)
            yield chunk;
    }
    return { first, stream: external_node_stream_namespaceObject.Readable.from(all()) };
}

;// CONCATENATED MODULE: ./src/archive/inspect.ts






/** Why an archive entry must not reach podman, or undefined when it may. */
function entryProblem(entry) {
    const path = entry.path.replace(/^\.\//, '');
    if (entry.path.startsWith('/'))
        return `${entry.path}: absolute path`;
    if (path.split('/').includes('..'))
        return `${entry.path}: leaves the archive (..)`;
    if (entry.type === '2' || entry.type === '1')
        return `${entry.path}: link to ${entry.linkTarget}`;
    if (entry.type === '3' || entry.type === '4')
        return `${entry.path}: device node`;
    if (entry.type !== '0' && entry.type !== '5' && entry.type !== '\0' && entry.type !== '7') {
        return `${entry.path}: not a regular file or directory (tar type ${JSON.stringify(entry.type)})`;
    }
    return undefined;
}
/** Reads tar headers from a stream of tar bytes, skipping the data: ustar, GNU long names, pax. */
class TarWalker {
    buffer = Buffer.alloc(0);
    /** Bytes of entry data still to pass over before the next header. */
    skip = 0;
    longName;
    longLink;
    pax = {};
    paxPending;
    ended = false;
    entries = [];
    push(chunk) {
        this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
        for (;;) {
            if (this.skip > 0) {
                const skipped = Math.min(this.skip, this.buffer.length);
                this.buffer = this.buffer.subarray(skipped);
                this.skip -= skipped;
                if (this.skip > 0)
                    return;
            }
            if (this.paxPending) {
                const padded = Math.ceil(this.paxPending.size / 512) * 512;
                if (this.buffer.length < padded)
                    return;
                const raw = this.buffer.subarray(0, this.paxPending.size);
                const body = raw.toString('utf8');
                this.buffer = this.buffer.subarray(padded);
                const { type } = this.paxPending;
                this.paxPending = undefined;
                if (type === 'L')
                    this.longName = body.replace(/\0.*$/s, '');
                else if (type === 'K')
                    this.longLink = body.replace(/\0.*$/s, '');
                else if (type === 'x')
                    this.pax = parsePax(raw);
                continue;
            }
            if (this.ended || this.buffer.length < 512)
                return;
            const header = this.buffer.subarray(0, 512);
            this.buffer = this.buffer.subarray(512);
            if (header.every((byte) => byte === 0)) {
                this.ended = true;
                return;
            }
            this.header(header);
        }
    }
    header(header) {
        const text = (start, length) => header
            .subarray(start, start + length)
            .toString('utf8')
            .replace(/\0.*$/s, '');
        const type = String.fromCharCode(header[156] ?? 0);
        const size = parseSize(header.subarray(124, 136));
        if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
            this.paxPending = { type, size };
            return;
        }
        // POSIX ustar ("ustar\0") has a name prefix at 345; GNU tar ("ustar  ") keeps times there.
        const posix = header.subarray(257, 263).toString('latin1') === 'ustar\0';
        const prefix = posix ? text(345, 155) : '';
        const name = this.pax.path ?? this.longName ?? (prefix ? `${prefix}/${text(0, 100)}` : text(0, 100));
        const linkTarget = this.pax.linkpath ?? this.longLink ?? text(157, 100);
        const realSize = this.pax.size !== undefined ? Number(this.pax.size) : size;
        this.entries.push({ path: name, type, size: realSize, linkTarget });
        this.pax = {};
        this.longName = undefined;
        this.longLink = undefined;
        // Links, devices, directories and fifos ('1'-'6') carry no data; every other type may.
        const hasData = !'123456'.includes(type);
        this.skip = hasData ? Math.ceil(realSize / 512) * 512 : 0;
    }
}
function parseSize(field) {
    // Base-256 for sizes over 8 GiB (high bit set), else octal text.
    if ((field[0] ?? 0) & 0x80) {
        let value = 0;
        for (let i = 1; i < field.length; i++)
            value = value * 256 + (field[i] ?? 0);
        return value;
    }
    return parseInt(field.toString('ascii').replace(/[\0 ]/g, '') || '0', 8);
}
/** pax records are `LENGTH key=value\n`, LENGTH counting the whole record: values may hold newlines. */
function parsePax(body) {
    const records = {};
    let at = 0;
    while (at < body.length) {
        const space = body.indexOf(0x20, at);
        if (space < 0)
            break;
        const length = Number(body.subarray(at, space).toString('latin1'));
        if (!Number.isInteger(length) || length <= space - at)
            break;
        const record = body.subarray(space + 1, at + length - 1).toString('utf8');
        const equals = record.indexOf('=');
        if (equals > 0)
            records[record.slice(0, equals)] = record.slice(equals + 1);
        at += length;
    }
    return records;
}
/** Compresses a plain tar for storage, with every core, and removes the plain one. */
async function compressArchive(plain, compressed) {
    await startPipeline(['zstd', '-q', '-3', '-T0', '--rm', '-f', plain, '-o', compressed], `zstd compressing ${plain}`, { stdout: 'ignore' }).exited;
}
/**
 * Hashes the archive (or one part of it, `range`) and lists its tar entries: the compressed bytes
 * go to the hash and, through `zstd -dc` when the archive is zstd-compressed, to the tar walker.
 * With `decompressTo`, zstd writes the decompressed tar there instead and the walker reads that
 * file afterwards (from the page cache), which costs less than passing every byte through here:
 * podman imports a plain tar twice as fast as it decompresses zstd itself.
 */
async function inspectArchive(archive, options = {}) {
    const sink = options.plainSink;
    // A sink that quits early (its tar failed) is not fed further; its own exit status says why.
    let sinking = sink !== undefined;
    sink?.on('error', () => (sinking = false));
    const hash = (0,external_node_crypto_namespaceObject.createHash)('sha256');
    const walker = new TarWalker();
    let bytes = 0;
    let zstd;
    let zstdRunning = false;
    let unreadable = Promise.resolve(undefined);
    let output;
    const source = typeof archive === 'string' ? fileSource(archive) : archive;
    try {
        for await (const data of source.read(options.range)) {
            const chunk = data;
            if (bytes === 0 && isZstd(chunk)) {
                if (options.decompressTo)
                    output = (0,external_node_fs_namespaceObject.openSync)(options.decompressTo, 'w', 0o600);
                const { child, exited } = startPipeline(['zstd', '-dcq'], 'zstd', {
                    stdin: 'pipe',
                    stdout: output ?? 'pipe'
                });
                zstd = child;
                zstdRunning = true;
                child.stdout?.on('data', (plain) => {
                    walker.push(plain);
                    if (sinking && !sink?.write(plain)) {
                        child.stdout?.pause();
                        sink?.once('drain', () => child.stdout?.resume());
                    }
                });
                // zstd may quit early on a damaged archive: stop feeding it, but keep hashing the file.
                child.stdin?.on('error', () => (zstdRunning = false));
                child.on('close', () => (zstdRunning = false));
                child.on('error', () => (zstdRunning = false));
                unreadable = exited.then(() => undefined, (error) => `zstd cannot decompress the archive: ${error.message.replace(/^zstd failed \(exit \d+\): /, '')}`);
            }
            hash.update(chunk);
            bytes += chunk.length;
            if (!zstd) {
                walker.push(chunk);
                if (sinking && sink && !sink.write(chunk))
                    await (0,external_node_events_namespaceObject.once)(sink, 'drain').catch(() => undefined);
            }
            else if (zstdRunning && !zstd.stdin?.write(chunk)) {
                const child = zstd;
                await new Promise((resume) => {
                    // Whichever comes first; the other listener goes, or they pile up over a long archive.
                    const done = () => {
                        child.stdin?.off('drain', done);
                        child.off('close', done);
                        resume();
                    };
                    child.stdin?.once('drain', done);
                    child.once('close', done);
                });
            }
        }
    }
    catch (error) {
        // The source failed (a registry gone away): nothing downstream may wait for more bytes.
        zstd?.kill('SIGKILL');
        sink?.end();
        if (output !== undefined)
            (0,external_node_fs_namespaceObject.closeSync)(output);
        throw error;
    }
    zstd?.stdin?.end();
    const problem = await unreadable;
    sink?.end();
    if (output !== undefined) {
        (0,external_node_fs_namespaceObject.closeSync)(output);
        if (!problem)
            await walkTarFile(options.decompressTo, walker);
    }
    const unpackedBytes = walker.entries.reduce((sum, entry) => sum + entry.size, 0);
    return {
        sha256: hash.digest('hex'),
        bytes,
        entries: walker.entries,
        unpackedBytes,
        unreadable: problem,
        importPath: zstd && options.decompressTo ? options.decompressTo : (source.path ?? '')
    };
}
/**
 * Feeds a plain tar file's headers to the walker, seeking over entry data instead of reading it:
 * a checkpoint's few dozen entries cost a few dozen reads, whatever their size.
 */
async function walkTarFile(path, walker) {
    const file = await (0,promises_namespaceObject.open)(path, 'r');
    try {
        const size = (await file.stat()).size;
        const chunk = Buffer.alloc(64 * 1024);
        let position = 0;
        while (!walker.ended && position < size) {
            const { bytesRead } = await file.read(chunk, 0, chunk.length, position);
            if (bytesRead === 0)
                break;
            // A copy: the walker may keep a partial header across pushes.
            walker.push(Buffer.from(chunk.subarray(0, bytesRead)));
            position += bytesRead + walker.skip;
            walker.skip = 0;
        }
    }
    finally {
        await file.close();
    }
}

function isZstd(chunk) {
    return chunk.length >= 4 && chunk.readUInt32LE(0) === 0xfd2fb528;
}
/** Every reason the archive must not be imported; empty when it may. */
/**
 * The file by which warmstart's in-memory restore tells the runtime wrapper where the CRIU images
 * are (src/engine/image-dir.ts, scripts/lib/runtime-wrapper.sh). warmstart writes it at restore
 * time; a stored checkpoint that carries one is refused, so no archive can name a directory.
 */
const IMAGE_PATH_MARKER = 'warmstart-image-path';
/** The largest unpacked size accepted for a checkpoint part. */
const MAX_CHECKPOINT_UNPACKED_BYTES = 32 * 1024 ** 3;
/**
 * Throws unless an inspected checkpoint part is the one stored (its SHA-256) and holds only what
 * a checkpoint may (archiveProblems): the checks before podman or CRIU may see it.
 */
function assertCheckpointPart(inspection, stored) {
    if (inspection.sha256 !== stored.sha256) {
        throw new Error(`the checkpoint part's SHA-256 is ${inspection.sha256}, ${stored.sha256} was stored (damaged?)`);
    }
    const problems = archiveProblems(inspection, MAX_CHECKPOINT_UNPACKED_BYTES);
    if (problems.length) {
        throw new Error(`the archive holds what a checkpoint must not: ${problems.slice(0, 5).join('; ')}`);
    }
}
function archiveProblems(inspection, maxUnpackedBytes) {
    const problems = inspection.entries
        .map(entryProblem)
        .filter((problem) => Boolean(problem));
    for (const entry of inspection.entries) {
        if (entry.path.replace(/^\.\//, '').replace(/\/+$/, '') === `checkpoint/${IMAGE_PATH_MARKER}`) {
            problems.push(`${entry.path}: the marker of warmstart's in-memory restore, which no archive may carry`);
        }
    }
    if (inspection.unreadable)
        problems.push(inspection.unreadable);
    if (!inspection.entries.length)
        problems.push('the archive holds no tar entries');
    if (inspection.unpackedBytes > maxUnpackedBytes) {
        problems.push(`it unpacks to ${inspection.unpackedBytes} bytes, more than the bound of ${maxUnpackedBytes}`);
    }
    return problems;
}

;// CONCATENATED MODULE: external "node:net"
const external_node_net_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:net");
;// CONCATENATED MODULE: ./src/spec.ts
// The service spec: one typed, validated description of the service to start warm. The action's
// inputs, the command line's flags and the JSON spec file all use the same names and end here.
const VOLUME_STORAGE = ['auto', 'memory', 'disk'];
const SPEC_FIELDS = [
    'image',
    'name',
    'ports',
    'env',
    'options',
    'command',
    'ready',
    'ready-timeout',
    'warmup',
    'key',
    'restore-keys',
    'refresh',
    'file-locks',
    'tcp-established',
    'volume-storage',
    'criu-timeout'
];
class SpecError extends Error {
    field;
    constructor(field, message) {
        super(`${field}: ${message}`);
        this.field = field;
        this.name = 'SpecError';
    }
}
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PORT = /^(?:(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):)?(\d{1,5}):(\d{1,5})(?:\/(tcp|udp))?$/;
const DEFAULT_READY_TIMEOUT_SECONDS = 120;
const MAX_NAME_LENGTH = 128;
function parseSpec(raw) {
    const unknown = Object.keys(raw).filter((field) => !SPEC_FIELDS.includes(field));
    if (unknown.length) {
        throw new SpecError(unknown[0], `unknown field; known fields: ${SPEC_FIELDS.join(', ')}`);
    }
    const image = spec_text(raw.image, 'image');
    if (!image)
        throw new SpecError('image', 'required: the container image to run, e.g. postgres:15');
    if (/\s/.test(image))
        throw new SpecError('image', `"${image}" contains white space`);
    const name = spec_text(raw.name, 'name') || defaultName(image);
    if (!NAME.test(name)) {
        throw new SpecError('name', `"${name}" is not a valid container name (letters, digits, _ . -)`);
    }
    // The name is part of the cache key, which may not exceed 512 characters.
    if (name.length > MAX_NAME_LENGTH) {
        throw new SpecError('name', `is ${name.length} characters long; at most ${MAX_NAME_LENGTH}`);
    }
    const ports = list(raw.ports, 'ports');
    for (const port of ports) {
        const match = PORT.exec(port);
        if (!match || !validPort(match[1]) || !validPort(match[2])) {
            throw new SpecError('ports', `"${port}" is not HOST:CONTAINER (e.g. 15432:5432)`);
        }
    }
    const restoreKeys = list(raw['restore-keys'], 'restore-keys').map((restoreKey) => {
        if (restoreKey.includes(','))
            throw new SpecError('restore-keys', 'must not contain commas');
        return restoreKey;
    });
    const refresh = spec_text(raw.refresh, 'refresh');
    if (restoreKeys.length && !refresh) {
        throw new SpecError('restore-keys', 'needs refresh: the command that brings an older checkpoint up to date (e.g. apply only new migrations)');
    }
    return {
        image,
        name,
        ports,
        env: environment(list(raw.env, 'env')),
        options: list(raw.options, 'options'),
        command: words(raw.command, 'command'),
        ready: probeText(spec_text(raw.ready, 'ready')),
        readyTimeoutSeconds: seconds(raw['ready-timeout'], 'ready-timeout'),
        warmup: spec_text(raw.warmup, 'warmup'),
        key: cacheKeyPart(spec_text(raw.key, 'key')),
        restoreKeys,
        refresh,
        fileLocks: flag(raw['file-locks'], 'file-locks', true),
        tcpEstablished: flag(raw['tcp-established'], 'tcp-established', false),
        volumeStorage: volumeStorage(spec_text(raw['volume-storage'], 'volume-storage')),
        criuTimeoutSeconds: criuTimeout(raw['criu-timeout'])
    };
}
/** `auto` (or nothing): by size; else a positive number of seconds. */
function criuTimeout(value) {
    if (value === undefined || value === null || value === '' || value === 'auto')
        return undefined;
    return seconds(value, 'criu-timeout');
}
function volumeStorage(value) {
    if (!value)
        return 'auto';
    const setting = VOLUME_STORAGE.find((known) => known === value.toLowerCase());
    if (!setting) {
        throw new SpecError('volume-storage', `"${value}" is not one of ${VOLUME_STORAGE.join(', ')}`);
    }
    return setting;
}
/** `docker.io/library/postgres:15` -> `warmstart-postgres`. */
function defaultName(image) {
    const last = image.split('@')[0]?.split('/').pop() ?? '';
    const base = last.split(':')[0]?.replace(/[^a-zA-Z0-9_.-]/g, '-') ?? '';
    return `warmstart-${base || 'service'}`;
}
/** The published ports, in order: `127.0.0.1:15432:5432` -> address 127.0.0.1, host 15432, container 5432. */
function hostPorts(ports) {
    return ports.map((port) => {
        const match = PORT.exec(port);
        const address = /^(.*):\d+:\d+/.exec(port.replace(/\/(tcp|udp)$/, ''))?.[1];
        return {
            address: address?.replace(/^\[|\]$/g, ''),
            host: Number(match?.[1]),
            container: Number(match?.[2])
        };
    });
}
/**
 * Splits a command line into words the way a POSIX shell does for plain words, single and
 * double quotes and backslashes; no expansion. `command` given as one string goes through it.
 */
function splitWords(line) {
    const result = [];
    let word = '';
    let inWord = false;
    let quote;
    for (let i = 0; i < line.length; i++) {
        const char = line[i];
        if (quote) {
            if (char === quote)
                quote = undefined;
            else if (char === '\\' &&
                quote === '"' &&
                i + 1 < line.length &&
                '$`"\\\n'.includes(line[i + 1])) {
                word += line[++i];
            }
            else
                word += char;
        }
        else if (char === '"' || char === "'") {
            quote = char;
            inWord = true;
        }
        else if (char === '\\' && i + 1 < line.length) {
            word += line[++i];
            inWord = true;
        }
        else if (/\s/.test(char)) {
            if (inWord)
                result.push(word);
            word = '';
            inWord = false;
        }
        else {
            word += char;
            inWord = true;
        }
    }
    if (quote)
        throw new Error(`unterminated ${quote} quote`);
    if (inWord)
        result.push(word);
    return result;
}
function spec_text(value, field) {
    if (value === undefined || value === null)
        return '';
    if (typeof value !== 'string')
        throw new SpecError(field, `must be a string, got ${typeof value}`);
    return value.trim();
}
/** An array of strings, or one string with one item per line. */
function list(value, field) {
    if (value === undefined || value === null || value === '')
        return [];
    if (typeof value === 'string') {
        return value
            .split('\n')
            .map((line) => line.trim())
            .filter((line) => line !== '');
    }
    if (Array.isArray(value) && value.every((item) => typeof item === 'string')) {
        return value.map((item) => item.trim()).filter((item) => item !== '');
    }
    throw new SpecError(field, 'must be an array of strings (or one item per line)');
}
function words(value, field) {
    if (Array.isArray(value)) {
        // An array is taken word for word: empty and space-padded arguments are deliberate.
        if (value.every((item) => typeof item === 'string'))
            return [...value];
        throw new SpecError(field, 'must be a string or an array of strings');
    }
    const line = spec_text(value, field);
    try {
        return splitWords(line);
    }
    catch (error) {
        throw new SpecError(field, error.message);
    }
}
function environment(lines) {
    const env = {};
    for (const line of lines) {
        const at = line.indexOf('=');
        const name = at >= 0 ? line.slice(0, at) : line;
        // Never echo the value: it may be a password.
        if (at <= 0 || !ENV_NAME.test(name)) {
            throw new SpecError('env', `"${name}" is not NAME=value with NAME made of letters, digits and _`);
        }
        env[name] = line.slice(at + 1);
    }
    return env;
}
function seconds(value, field) {
    if (value === undefined || value === null || value === '')
        return DEFAULT_READY_TIMEOUT_SECONDS;
    const number = typeof value === 'number' ? value : Number(String(value).replace(/s$/, ''));
    if (!Number.isFinite(number) || number <= 0) {
        throw new SpecError(field, `"${String(value)}" is not a positive number of seconds`);
    }
    return number;
}
function flag(value, field, fallback) {
    if (value === undefined || value === null || value === '')
        return fallback;
    if (typeof value === 'boolean')
        return value;
    if (value === 'true')
        return true;
    if (value === 'false')
        return false;
    throw new SpecError(field, `"${String(value)}" is not true or false`);
}
function probeText(ready) {
    if (ready && !/^(tcp:\/\/|https?:\/\/|exec:|cmd:)/.test(ready)) {
        throw new SpecError('ready', `"${ready}" is not tcp://HOST:PORT, http(s)://URL, exec:CMD or cmd:CMD`);
    }
    return ready;
}
function cacheKeyPart(key) {
    if (key.includes(','))
        throw new SpecError('key', 'must not contain commas (cache keys cannot)');
    if (key.length > 200)
        throw new SpecError('key', 'is longer than 200 characters');
    return key;
}
function validPort(port) {
    const number = Number(port);
    return Number.isInteger(number) && number >= 1 && number <= 65535;
}

;// CONCATENATED MODULE: ./src/ready.ts
// Readiness: when a started or restored service answers. A probe is parsed once (pure), then
// polled until it passes, the container stops, or the timeout runs out.



/** The probe a spec asks for; without one, TCP on the first published port, else "running". */
function parseProbe(ready, ports) {
    if (ready.startsWith('tcp://')) {
        const match = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(ready);
        if (!match)
            throw new Error(`ready: "${ready}" is not tcp://HOST:PORT`);
        return {
            kind: 'tcp',
            host: match[1].replace(/^\[|\]$/g, ''),
            port: Number(match[2])
        };
    }
    if (/^https?:\/\//.test(ready))
        return { kind: 'http', url: ready };
    if (ready.startsWith('exec:'))
        return { kind: 'exec', command: ready.slice(5).trim() };
    if (ready.startsWith('cmd:'))
        return { kind: 'cmd', command: ready.slice(4).trim() };
    const first = hostPorts(ports)[0];
    if (!first)
        return { kind: 'running' };
    // A port published on every address is reached on loopback; one bound to an address, there.
    const host = !first.address || first.address === '0.0.0.0' ? '127.0.0.1' : first.address;
    return { kind: 'tcp', host, port: first.host };
}
function describeProbe(probe) {
    switch (probe.kind) {
        case 'tcp':
            return `tcp://${probe.host.includes(':') ? `[${probe.host}]` : probe.host}:${probe.port}`;
        case 'http':
            return probe.url;
        case 'exec':
            return `exec:${probe.command}`;
        case 'cmd':
            return `cmd:${probe.command}`;
        case 'running':
            return 'container running';
    }
}
/** One attempt: resolves true when the service answered. */
async function probeOnce(probe, context) {
    switch (probe.kind) {
        case 'tcp':
            return tcpConnects(probe.host, probe.port);
        case 'http':
            return httpAnswers2xx(probe.url);
        case 'exec':
            return ((await context.podman.exec(context.container, ['sh', '-c', probe.command])).exitCode === 0);
        case 'cmd':
            return (await runShell(probe.command, { env: context.env })) === 0;
        case 'running':
            return (await context.podman.inspectContainer(context.container)).State.Running;
    }
}
class NotReadyError extends Error {
    constructor(message) {
        super(message);
        this.name = 'NotReadyError';
    }
}
/**
 * Polls until the probe passes. Fails early when the container stops, and on timeout; both
 * errors carry the container's last log lines, where the reason usually is.
 */
async function waitUntilReady(probe, context, timeoutSeconds) {
    const deadline = Date.now() + timeoutSeconds * 1000;
    for (let attempt = 0;; attempt++) {
        if (await probeOnce(probe, context).catch(() => false))
            return;
        const state = (await context.podman.inspectContainer(context.container)).State;
        if (!state.Running) {
            throw new NotReadyError(`${context.container} stopped (${state.Status}, exit code ${state.ExitCode}) before ${describeProbe(probe)} answered. Last log lines:\n${await context.podman.logs(context.container)}`);
        }
        if (Date.now() > deadline) {
            throw new NotReadyError(`${context.container} did not answer ${describeProbe(probe)} within ${timeoutSeconds} s (raise ready-timeout if it needs longer). Last log lines:\n${await context.podman.logs(context.container)}`);
        }
        // Fast at first (a restored service answers at once), then gentler.
        await sleep(attempt < 20 ? 100 : 500);
    }
}
function tcpConnects(host, port) {
    return new Promise((resolve) => {
        const socket = new external_node_net_namespaceObject.Socket();
        const done = (ok) => {
            socket.destroy();
            resolve(ok);
        };
        socket.setTimeout(2000, () => done(false));
        socket.once('error', () => done(false));
        socket.connect(port, host, () => done(true));
    });
}
async function httpAnswers2xx(url) {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    await response.body?.cancel();
    return response.status >= 200 && response.status < 300;
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

;// CONCATENATED MODULE: ./src/archive/unpack-part.ts
// One part of an archive (src/archive/layout.ts) unpacked by root's tar, for a volume and for the
// checkpoint's CRIU images alike. The part's bytes reach tar without its decompressed bytes ever
// passing through Node: from a local file, root's dd reads the range and warmstart hashes the same
// range on its own read (sha256OfRange); from a stream (a registry's blob), warmstart feeds the
// compressed bytes to root's stdin, hashing them as they go. Relaying the bytes through Node
// instead made Node's one thread the bottleneck of a warm restore on a 2-core runner (memcached's
// 471 MiB checkpoint: 2.0 s against 1.0-1.2 s for zstd | tar alone; a 62 MB volume slice: 1.5 s
// against 1.05-1.15 s). From a file the two reads see the same bytes unless the file changes in
// between, which takes write access to warmstart's own store or download directory.




/**
 * As root: reads the part (dd from the file $2, or stdin when $2 is empty), decompresses it when
 * it is zstd, and unpacks it into $1 with tar's options after $5.
 */
const UNPACK = `set -eu -o pipefail
dir=$1 file=$2 offset=$3 bytes=$4 format=$5
shift 5
if [ -n "$file" ]; then
  dd if="$file" iflag=skip_bytes,count_bytes skip="$offset" count="$bytes" bs=1M status=none
else
  cat
fi |
  if [ "$format" = zstd ]; then zstd -dcq; else cat; fi |
  LC_ALL=C tar -x --numeric-owner -C "$dir" "$@"`;
/**
 * Unpacks `part` of `archive` into `into` as root. Throws only when the source fails (a registry
 * gone away: its reason says more than a tar cut short); a failed tar is returned, so that the
 * caller decides what to report first.
 */
async function unpackPart(podman, archive, part, into, options) {
    const file = archive.path;
    // A stream that cannot rewind: its first chunk says whether it is zstd, and goes on to tar.
    const streamed = file ? undefined : await peek(archive.read(part));
    const head = file ? readHead(file, part.offset, 4) : streamed?.first;
    const format = head && isZstd(head) ? 'zstd' : 'tar';
    const range = file ? [file, String(part.offset), String(part.bytes)] : ['', '', ''];
    const argv = podman.asRoot([
        'bash',
        '-c',
        UNPACK,
        'bash',
        into,
        ...range,
        format,
        ...(options.tarOptions ?? [])
    ]);
    const untar = startPipeline(argv, options.what, {
        stdin: streamed ? 'pipe' : 'ignore',
        stdout: 'pipe'
    });
    const stdout = [];
    untar.child.stdout?.on('data', (chunk) => stdout.push(chunk));
    const hashing = streamed
        ? feedHashed(streamed.stream, untar.child.stdin)
        : sha256OfRange(file, part);
    // allSettled: tar has finished writing before any failure is reported.
    const [unpacked, hashed] = await Promise.allSettled([untar.exited, hashing]);
    if (hashed.status === 'rejected')
        throw hashed.reason;
    return {
        sha256: hashed.value,
        stdout: Buffer.concat(stdout),
        failed: unpacked.status === 'rejected' ? unpacked.reason : undefined
    };
}
/**
 * Writes `stream` into `sink` and returns the SHA-256 of all of it. A sink that fails (its tar
 * quit) is fed no more, but the stream is still read and hashed to its end, so that a damaged
 * part is named by its hash; the sink is ended whatever happens, or its tar would wait forever.
 */
async function feedHashed(stream, sink) {
    const hash = (0,external_node_crypto_namespaceObject.createHash)('sha256');
    let feeding = true;
    sink.on('error', () => (feeding = false));
    try {
        for await (const chunk of stream) {
            hash.update(chunk);
            if (feeding && !sink.write(chunk))
                await drainedOrClosed(sink);
        }
    }
    finally {
        sink.end();
    }
    return hash.digest('hex');
}
/** Whichever comes first; the other listener goes, or they pile up over a long part. */
function drainedOrClosed(sink) {
    return new Promise((resume) => {
        const done = () => {
            sink.off('drain', done);
            sink.off('close', done);
            resume();
        };
        sink.once('drain', done);
        sink.once('close', done);
    });
}

;// CONCATENATED MODULE: ./src/volumes.ts
// A service's named volumes (the anonymous ones of an image's VOLUME paths included): what a
// checkpoint keeps of them, and how a warm restore puts them back before podman restores the
// processes that have their files open. Volume files belong to root or to a user namespace's
// root, so every file operation here runs as root: directly when warmstart is root, else through
// `sudo -n`. Tars keep numeric owners: the container's users, mapped as its user namespace maps
// them, are not the host's.




/** Marks the volumes warmstart creates, with the container they were made for: `down` removes them. */
const VOLUME_OWNER_LABEL = 'io.warmstart.container';
/** The container's named volumes, where they live and who owns them. */
async function containerVolumes(podman, container) {
    const info = await podman.inspectContainer(container);
    const volumes = [];
    for (const mount of info.Mounts ?? []) {
        if (mount.Type !== 'volume' || !mount.Name)
            continue;
        const { Mountpoint } = await podman.inspectVolume(mount.Name);
        if (!Mountpoint) {
            throw new Error(`volume ${mount.Name} has no directory on this host (another volume driver?)`);
        }
        const owner = await runAsRoot(podman, ['stat', '--format', '%u %g', (0,external_node_path_namespaceObject.dirname)(Mountpoint)]);
        const [uid, gid] = owner.toString().trim().split(' ').map(Number);
        volumes.push({
            name: mount.Name,
            destination: mount.Destination,
            mountpoint: Mountpoint,
            uid: uid ?? 0,
            gid: gid ?? 0
        });
    }
    return volumes;
}
/**
 * Archives the volume's contents in slices under `dir`: slice 0 its directories (its top one
 * included, for its mode and owner) and symbolic links, then its other files split by size over
 * `fileSlices` tars, so that a restore can unpack them side by side. zstd-compressed unless told
 * otherwise.
 */
async function archiveVolume(podman, volume, dir, options) {
    // One listing: type, link count, size and path of every entry, NUL-terminated (paths are bytes).
    const listing = await runAsRoot(podman, [
        'find',
        volume.mountpoint,
        '-mindepth',
        '1',
        '-printf',
        '%y %n %s %P\\0'
    ]);
    const { directories, fileSlices } = splitListing(listing, options.fileSlices);
    const lists = [
        { names: [Buffer.from('.'), ...directories], bytes: 0 },
        ...fileSlices.filter((files) => files.names.length)
    ];
    const slices = [];
    for (const [slice, { names, bytes }] of lists.entries()) {
        const list = (0,external_node_path_namespaceObject.join)(dir, `volume-list-${slice}`);
        (0,external_node_fs_namespaceObject.writeFileSync)(list, Buffer.concat(names.flatMap((name) => [name, Buffer.from([0])])));
        const path = (0,external_node_path_namespaceObject.join)(dir, `${volume.name}-${slice}.tar${options.compress ? '.zst' : ''}`);
        const tar = 'tar -c --numeric-owner --no-recursion --null -C "$1" -T "$2"';
        const script = options.compress ? `${tar} | zstd -q -3 -T0` : tar;
        // The file is opened here, so it belongs to the user warmstart runs as, who stores it.
        const out = (0,external_node_fs_namespaceObject.openSync)(path, 'w', 0o600);
        try {
            await runAsRoot(podman, ['bash', '-o', 'pipefail', '-c', script, 'bash', volume.mountpoint, list], { stdout: out });
        }
        finally {
            (0,external_node_fs_namespaceObject.closeSync)(out);
        }
        slices.push({ path, slice, unpackedBytes: bytes });
    }
    return slices;
}
/**
 * Splits `find -printf '%y %n %s %P\0'` output into the directories with the symbolic links, and
 * `count` lists of other files of about equal size (largest first, each to the lightest list).
 * Files with more than one link stay together in the first list, so that tar keeps them linked.
 * The links go with the directories because a restore unpacks that slice last, after the file
 * slices' tars, which run side by side: a link one tar made could otherwise lead another tar's
 * writes out of the volume (one tar alone guards against that; two cannot see each other's).
 */
function splitListing(listing, count) {
    const directories = [];
    const files = [];
    let at = 0;
    while (at < listing.length) {
        const end = listing.indexOf(0, at);
        const record = listing.subarray(at, end < 0 ? listing.length : end);
        at = end < 0 ? listing.length : end + 1;
        const fields = record.toString('latin1').split(' ', 3);
        const [type, links, size] = fields;
        const name = Buffer.concat([Buffer.from('./'), record.subarray(fields.join(' ').length + 1)]);
        if (type === 'd' || type === 'l')
            directories.push(name);
        else
            files.push({ name, size: Number(size), linked: Number(links) > 1 });
    }
    const fileSlices = Array.from({ length: Math.max(1, count) }, () => ({
        names: [],
        bytes: 0
    }));
    const add = (slice, file) => {
        slice.names.push(file.name);
        slice.bytes += file.size;
    };
    const first = fileSlices[0];
    for (const file of files.filter((f) => f.linked))
        add(first, file);
    for (const file of files.filter((f) => !f.linked).sort((a, b) => b.size - a.size)) {
        add(fileSlices.reduce((lightest, s) => (s.bytes < lightest.bytes ? s : lightest)), file);
    }
    return { directories, fileSlices };
}
/**
 * Creates the volume a checkpoint part restores into, empty and owned as it was. A volume of that
 * name that warmstart made and no container uses is replaced; any other is left alone, and the
 * restore fails (a user's own volume is never overwritten).
 */
async function createVolumeFor(podman, part, container, storage) {
    const create = () => podman.createVolume(part.name, {
        uid: part.uid,
        gid: part.gid,
        labels: { [VOLUME_OWNER_LABEL]: container },
        memory: storage === 'memory'
    });
    // Usually there is none of that name: create first, look only when that fails.
    await create().catch(async (error) => {
        if (!(await podman.volumeExists(part.name)))
            throw error;
        await replaceOwnVolume(podman, part.name);
        await create();
    });
    // A tmpfs exists only while mounted: warmstart holds it mounted until removeVolumesOf.
    if (storage === 'memory')
        return podman.mountVolume(part.name);
    return (await podman.inspectVolume(part.name)).Mountpoint;
}
/** Removes a volume of that name if warmstart made it and no container uses it; else throws. */
async function replaceOwnVolume(podman, name) {
    const existing = await podman.inspectVolume(name);
    if (existing.Labels?.[VOLUME_OWNER_LABEL] === undefined) {
        throw new Error(`a volume named ${name} already exists and warmstart did not create it; it is left as is (remove it with podman volume rm ${name} to restore this checkpoint)`);
    }
    const users = await podman.containersUsingVolume(name);
    if (users.length)
        throw new Error(`volume ${name} is in use by container ${users.join(', ')}`);
    await removeVolume(podman, name);
}
/** The share of the host's memory that volumes may take in memory when the setting is auto. */
const MEMORY_SHARE = 0.25;
/**
 * Memory (a tmpfs) when asked, or, on auto, when the volumes' files take at most a quarter of the
 * host's memory: unpacking into a tmpfs is twice as fast, and a test service's data is throwaway.
 * A tmpfs may grow to half the memory, so the service keeps room to write.
 */
function chooseVolumeStorage(setting, unpackedBytes, totalMemory) {
    if (setting !== 'auto')
        return setting;
    return unpackedBytes <= totalMemory * MEMORY_SHARE ? 'memory' : 'disk';
}
/**
 * Unpacks a volume part of the archive into the volume's directory (src/archive/unpack-part.ts)
 * and returns the SHA-256 of the part's bytes (the caller compares it with the manifest's).
 */
async function unpackVolume(podman, archive, part, mountpoint) {
    const unpacked = await unpackPart(podman, archive, part, mountpoint, {
        what: `unpacking volume ${part.name}`
    });
    if (unpacked.failed)
        throw unpacked.failed;
    return unpacked.sha256;
}
/**
 * Makes `directories` (relative paths, checked here) inside a fresh volume, before its file slices
 * unpack side by side. GNU tar, finding a file's parent missing, makes the parents and retries
 * only when it made one itself: when another tar made it in between, it fails with "Cannot open:
 * No such file or directory" (seen here on PostgreSQL's base/1; pghoard issue 452 traces it).
 * The volume holds no link yet, so nothing can lead these outside it.
 */
async function makeDirectories(podman, mountpoint, directories) {
    const relative = directories.map((dir) => dir.replace(/^(\.\/)+/, '').replace(/\/+$/, ''));
    const unsafe = relative.find((dir) => dir.startsWith('/') || dir.split('/').includes('..'));
    if (unsafe !== undefined)
        throw new Error(`refusing to make directory ${unsafe} in a volume`);
    const wanted = relative.filter((dir) => dir && dir !== '.');
    if (!wanted.length)
        return;
    const argv = podman.asRoot(['sh', '-c', 'cd "$1" && xargs -0 mkdir -p --', 'sh', mountpoint]);
    const { child, exited } = startPipeline(argv, `making the directories of volume ${mountpoint}`, {
        stdin: 'pipe',
        stdout: 'ignore'
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(wanted.join('\0'));
    await exited;
}
/** Throws when the volume holds a device node: a checkpoint's volume holds data files. */
async function refuseDevices(podman, name, mountpoint) {
    const found = await runAsRoot(podman, [
        'find',
        mountpoint,
        '-xdev',
        '(',
        '-type',
        'b',
        '-o',
        '-type',
        'c',
        ')',
        '-print',
        '-quit'
    ]);
    if (found.length) {
        throw new Error(`volume ${name} holds a device node (${found.toString().trim()}): refused`);
    }
}
/** Removes the volumes warmstart created for `container`. */
async function removeVolumesOf(podman, container) {
    for (const name of await podman.volumesLabelled(VOLUME_OWNER_LABEL, container)) {
        await removeVolume(podman, name);
    }
}
/** Removes a volume no container uses, releasing warmstart's own mount of a memory volume first. */
async function removeVolume(podman, name) {
    // podman refuses to remove a volume that is still mounted.
    const { MountCount } = await podman.inspectVolume(name);
    for (let i = 0; i < (MountCount ?? 0); i++)
        await podman.unmountVolume(name);
    await podman.removeVolume(name);
}
/** Runs a command as root (through `sudo -n` when not root); resolves with its stdout, or writes it to `stdout`. */
async function runAsRoot(podman, command, options = {}) {
    const what = command.join(' ');
    if (options.stdout === undefined)
        return collectOutput(podman.asRoot(command), what);
    await startPipeline(podman.asRoot(command), what, { stdout: options.stdout }).exited;
    return Buffer.alloc(0);
}

;// CONCATENATED MODULE: external "node:stream/promises"
const external_node_stream_promises_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:stream/promises");
;// CONCATENATED MODULE: ./src/archive/assemble.ts
// One archive of parts laid end to end (the layout is src/archive/layout.ts): the checkpoint part,
// then every volume's slices, each hashed on the way.



/**
 * Lays the parts end to end in `archive` (the checkpoint part is moved there, the volume parts
 * appended and removed) and hashes each part and the whole on the way.
 */
async function assembleArchive(archive, checkpointFile, volumes) {
    const whole = (0,external_node_crypto_namespaceObject.createHash)('sha256');
    (0,external_node_fs_namespaceObject.renameSync)(checkpointFile, archive);
    const first = await hashPart(archive, whole);
    const parts = [{ kind: 'checkpoint', offset: 0, ...first }];
    let offset = first.bytes;
    const slices = volumes.flatMap(({ volume, slices }) => slices.map((slice) => ({ volume, ...slice })));
    for (const { volume, path, slice, unpackedBytes } of slices) {
        const part = await hashPart(path, whole, archive);
        (0,external_node_fs_namespaceObject.rmSync)(path, { force: true });
        parts.push({
            kind: 'volume',
            offset,
            ...part,
            name: volume.name,
            destination: volume.destination,
            uid: volume.uid,
            gid: volume.gid,
            slice,
            unpackedBytes
        });
        offset += part.bytes;
    }
    return { parts, sha256: whole.digest('hex') };
}
/** Reads a part's file once: its size and SHA-256, into `whole` too, appended to `appendTo` if given. */
async function hashPart(path, whole, appendTo) {
    const hash = (0,external_node_crypto_namespaceObject.createHash)('sha256');
    let bytes = 0;
    const source = (0,external_node_fs_namespaceObject.createReadStream)(path).on('data', (chunk) => {
        hash.update(chunk);
        whole.update(chunk);
        bytes += chunk.length;
    });
    if (appendTo)
        await (0,external_node_stream_promises_namespaceObject.pipeline)(source, (0,external_node_fs_namespaceObject.createWriteStream)(appendTo, { flags: 'a' }));
    else
        await (0,external_node_stream_promises_namespaceObject.finished)(source);
    return { bytes, sha256: hash.digest('hex') };
}

;// CONCATENATED MODULE: ./src/engine/limits.ts
/** A checkpoint writes the service's memory once; 10 minutes is far beyond any seen here. */
const AUTO_CHECKPOINT_SECONDS = 600;
/**
 * A restore reads the archive once. Measured here: 5-10 s per GB of memory restored, and a zstd
 * archive holds about 6 GB per GB stored; 60 s per GiB stored leaves room for a slow disk, and
 * the 120 s base for podman, the runtime and a small service.
 */
const AUTO_RESTORE_BASE_SECONDS = 120;
const AUTO_RESTORE_SECONDS_PER_GIB = 60;
function checkpointTimeoutSeconds(spec) {
    return spec.criuTimeoutSeconds ?? AUTO_CHECKPOINT_SECONDS;
}
function restoreTimeoutSeconds(spec, archiveBytes) {
    if (spec.criuTimeoutSeconds !== undefined)
        return spec.criuTimeoutSeconds;
    return Math.round(AUTO_RESTORE_BASE_SECONDS + (AUTO_RESTORE_SECONDS_PER_GIB * archiveBytes) / 1024 ** 3);
}

;// CONCATENATED MODULE: ./src/engine/plan.ts
/** `up` failed: the service could not be started. `exitCode` is the warm-up's when it failed. */
class UpError extends Error {
    exitCode;
    constructor(message, exitCode = 1) {
        super(message);
        this.exitCode = exitCode;
        this.name = 'UpError';
    }
}
/** What readiness probes of the plan's service need. */
function probeContext(plan, podman) {
    return { podman, container: plan.spec.name, env: plan.serviceEnv };
}

;// CONCATENATED MODULE: ./src/engine/checkpoint.ts
// The cold path's last step: checkpoint the warmed-up service with it stopped, archive its volumes
// in slices, resume it, and lay the parts end to end in one archive. It reports what it made and
// the state it left the service in; what follows (store it, resume from the archive, start cold
// again) is the engine's decision (src/engine/engine.ts).











/**
 * Checkpoints the running service into `workDir` and resumes it in place. Never throws for a
 * failure of its own: the result says what was made and whether the service runs.
 */
async function makeCheckpoint(plan, options, timings, workDir) {
    const compress = options.compress !== 'none';
    const made = await checkpointConsistently(plan, options, timings, workDir, compress);
    if (!made.made)
        return made;
    // podman exports a plain tar; zstd compresses it with every core (podman's own zstd is
    // single-threaded, and importing a plain tar is twice as fast as letting podman decompress).
    try {
        let checkpointFile = made.checkpoint;
        if (compress) {
            checkpointFile = `${made.checkpoint}.zst`;
            await timings.time('compress', () => compressArchive(made.checkpoint, checkpointFile));
        }
        const archive = (0,external_node_path_namespaceObject.join)(workDir, `${plan.spec.name}.checkpoint`);
        const { parts, sha256 } = await timings.time('assemble', () => assembleArchive(archive, checkpointFile, made.volumes));
        return {
            made: true,
            archive,
            parts,
            sha256,
            bytes: (0,external_node_fs_namespaceObject.statSync)(archive).size,
            service: made.resumeFailure ? 'stopped' : 'running',
            resumeFailure: made.resumeFailure
        };
    }
    catch (error) {
        return {
            made: false,
            reason: `the archive could not be assembled: ${message(error)}`,
            service: made.resumeFailure ? 'stopped' : 'running'
        };
    }
}
/**
 * Checkpoints with the service stopped, archives its volumes while it stays stopped, then
 * restores it in place: the archive's files and memory are from the same instant.
 * (`--leave-running` resumes the service before its files are archived, so a database writing in
 * the background would leave files newer than its memory.)
 */
async function checkpointConsistently(plan, options, timings, workDir, compress) {
    const { podman } = options;
    const { spec } = plan;
    let volumes;
    try {
        volumes = await containerVolumes(podman, spec.name);
    }
    catch (error) {
        return {
            made: false,
            reason: `the volumes of ${spec.name} cannot be read: ${message(error)}`,
            service: 'running'
        };
    }
    const checkpoint = (0,external_node_path_namespaceObject.join)(workDir, 'checkpoint.tar');
    try {
        await timings.time('checkpoint', () => podman.checkpoint(spec.name, {
            exportPath: checkpoint,
            keep: true,
            fileLocks: spec.fileLocks,
            tcpEstablished: spec.tcpEstablished,
            compress: 'none',
            ignoreVolumes: true,
            timeoutSeconds: checkpointTimeoutSeconds(spec)
        }));
    }
    catch (error) {
        // A CRIU stopped at its limit may leave the service frozen while podman says it runs:
        // count it as stopped, so that it is started again.
        const running = !(error instanceof PodmanTimeoutError) &&
            (await podman
                .inspectContainer(spec.name)
                .then((info) => info.State.Running)
                .catch(() => false));
        return {
            made: false,
            reason: `checkpoint failed: ${message(error)}`,
            service: running ? 'running' : 'stopped'
        };
    }
    let archived = [];
    let volumeError;
    try {
        archived = await timings.time('volumes', async () => {
            const files = [];
            for (const volume of volumes) {
                const slices = await archiveVolume(podman, volume, workDir, {
                    compress,
                    fileSlices: FILE_SLICES
                });
                files.push({ volume, slices });
            }
            return files;
        });
    }
    catch (error) {
        volumeError = error;
    }
    const resumeFailure = await resumeInPlace(plan, options, timings);
    if (volumeError) {
        return {
            made: false,
            reason: `the volumes of ${spec.name} could not be archived: ${message(volumeError)}`,
            service: resumeFailure ? 'stopped' : 'running'
        };
    }
    return { made: true, checkpoint, volumes: archived, resumeFailure };
}
/** Restores the just checkpointed service in place; returns why not when it failed. */
async function resumeInPlace(plan, options, timings) {
    const { podman } = options;
    const { spec } = plan;
    try {
        await timings.time('resume', async () => {
            await podman.restore({
                container: spec.name,
                fileLocks: spec.fileLocks,
                tcpEstablished: spec.tcpEstablished,
                timeoutSeconds: checkpointTimeoutSeconds(spec)
            });
            await waitUntilReady(plan.probe, probeContext(plan, podman), spec.readyTimeoutSeconds);
        });
        return undefined;
    }
    catch (error) {
        return message(error);
    }
}
/**
 * How many slices a volume's files are archived in, to be unpacked side by side: one tar and one
 * zstd each. Two measured 15-40% faster than one on a 2-core machine (730 MB of PostgreSQL data);
 * more would only help hosts with more cores than GitHub's standard runners.
 */
const FILE_SLICES = Math.min(4, Math.max(2, (0,external_node_os_namespaceObject.availableParallelism)()));

;// CONCATENATED MODULE: ./src/host/apparmor.ts
// AppArmor and restores. podman loads its default profile for containers (containers-default-
// VERSION) when it initialises a container it creates or runs, but `restore --import` builds the
// container from the checkpoint without that step, and CRIU restores the processes into the
// profile they had. On a fresh VM with AppArmor enabled (GitHub's runners) the profile has never
// been loaded: the restore then fails (`can't write lsm profile`) or hangs (podman issue 12437,
// criu issue 2464; podman PR 2114 made loading happen at initialisation). So before a restore on
// such a host warmstart initialises a throwaway container of the image, which loads it.
// Reading is HostReader.appArmor (src/host/host.ts); parsing and deciding are pure, here.
/** The prefix of podman's default profile for containers; its version follows. */
const PODMAN_PROFILE_PREFIX = 'containers-default-';
/** Separates the two files in what HostReader.appArmor reads. */
const APPARMOR_SEPARATOR = '--- profiles';
/**
 * The state from `cat enabled; echo SEPARATOR; cat profiles` (either may be missing). A profile
 * line reads `name (mode)`.
 */
function parseAppArmor(text) {
    const [enabled = '', profiles = ''] = text.split(`${APPARMOR_SEPARATOR}\n`);
    return {
        enabled: enabled.trim() === 'Y',
        profiles: profiles
            .split('\n')
            .map((line) => line.replace(/\s+\([^)]*\)\s*$/, '').trim())
            .filter(Boolean)
    };
}
/** Whether podman's profile must be loaded before a restore can use it. */
function mustLoadPodmanProfile(state) {
    return state.enabled && !state.profiles.some((name) => name.startsWith(PODMAN_PROFILE_PREFIX));
}

;// CONCATENATED MODULE: ./src/host/criu-config.ts
// CRIU's options for the containers warmstart runs, in a per-container configuration file.
//
// runc hands CRIU one extra configuration file: /etc/criu/runc.conf, or instead the file the
// container's annotation `org.criu.config` names (runc's docs/checkpoint-restore.md). warmstart
// writes one holding runc.conf's lines (the CPU check, `cpu-cap`) and its own, names it by its
// digest, and puts the annotation on every container it starts; a restored container carries
// the annotation in its checkpoint, so the same file must exist on the restoring host (the key
// holds the digest, and `up` writes the file before any start or restore).
//
// warmstart's own line: `tcp-close`. A connection a client reset while the service had not yet
// closed its end is dumped in state TCP_CLOSE, and CRIU refuses to restore such a socket
// ("inet: Connected TCP socket in image") unless told to restore connected sockets closed. Seen
// with Tomcat behind a load generator: no warm start ever. Left out when the spec asks for
// tcp-established, which restores connections open.

/** Where warmstart's CRIU configuration files live: root's, read by runc and CRIU. */
const CRIU_CONFIG_DIR = '/etc/warmstart/criu';
/** The annotation runc reads the file's path from. */
const CRIU_CONFIG_ANNOTATION = 'org.criu.config';
/** The file for this spec on a host whose /etc/criu/runc.conf holds `runcConf` ('' if none). */
function criuConfigFile(spec, runcConf) {
    const own = spec.tcpEstablished ? [] : ['tcp-close'];
    const content = [
        `# Written by warmstart: CRIU's options for the containers it starts (${CRIU_CONFIG_ANNOTATION}).`,
        '# The lines of /etc/criu/runc.conf, which runc reads instead of this file otherwise:',
        runcConf.trimEnd(),
        "# warmstart's own:",
        ...own,
        ''
    ].join('\n');
    const digest = (0,external_node_crypto_namespaceObject.createHash)('sha256').update(content).digest('hex');
    return { path: `${CRIU_CONFIG_DIR}/${digest.slice(0, 16)}.conf`, content, digest };
}

;// CONCATENATED MODULE: ./src/engine/decide.ts
// Decide: from what was read (facts.ts), how the service runs, what `up` may try, and the key.
// Pure: no podman, no files, no clock. `up`, `warmstart key`, the Action and the benchmark all
// come through here, so the key a user asks for is the key `up` uses.






class UnknownImageError extends Error {
    constructor(reason) {
        super(reason);
        this.name = 'UnknownImageError';
    }
}
/** The plan for one `up`; throws UnknownImageError when the image's identity is not known. */
function decidePlan(spec, facts) {
    if (facts.image.where === 'unknown')
        throw new UnknownImageError(facts.image.reason);
    const imageUser = facts.image.user;
    const criuProblem = facts.criu.ok ? undefined : (facts.criu.reason ?? 'CRIU does not work here');
    const variant = decideUserNamespace({ canDumpOtherUsers: facts.canDumpOtherUsers }, imageUser, hostPorts(spec.ports));
    const userNamespace = variant === 'userns';
    // In a user namespace the service shares the host's network and cannot be remapped: a service
    // that needs one runs as asked, without a checkpoint that could never be made.
    const portProblem = variant === 'no-checkpoint'
        ? `${spec.image} runs as user ${imageUser}, which ${otherUsersFix(spec)}`
        : undefined;
    const checkpointProblem = criuProblem ?? portProblem;
    const criuConfig = criuConfigFile(spec, facts.runcCriuConfig);
    const annotation = `--annotation=${CRIU_CONFIG_ANNOTATION}=${criuConfig.path}`;
    const run = {
        image: spec.image,
        name: spec.name,
        ports: userNamespace ? [] : spec.ports,
        env: spec.env,
        options: [annotation, ...(userNamespace ? USERNS_RUN_OPTIONS : []), ...spec.options],
        command: spec.command
    };
    return {
        spec,
        run,
        userNamespace,
        probe: parseProbe(spec.ready, spec.ports),
        key: composeKey({
            spec,
            imageId: facts.image.identity,
            warmupScript: facts.warmupScript,
            host: facts.host,
            userNamespace,
            criuConfigDigest: criuConfig.digest
        }),
        restore: criuProblem ? { ok: false, reason: criuProblem } : { ok: true },
        checkUidsBeforeCheckpoint: variant === 'plain-check-uids',
        loadAppArmorProfile: mustLoadPodmanProfile(facts.appArmor),
        restoreImages: restoreImagesWhere(facts.runtimeWrapper),
        checkpoint: checkpointProblem ? { ok: false, reason: checkpointProblem } : { ok: true },
        serviceEnv: serviceEnvironment(spec),
        criuConfig
    };
}
/**
 * Why a service running as another user than root cannot be checkpointed on this host, and the
 * fix: the one sentence the plan and the check before a checkpoint share.
 */
function otherUsersFix(spec) {
    const ports = spec.ports.length ? ` (${spec.ports.join(', ')})` : '';
    return `this host can only checkpoint on the host network, where ports cannot be remapped${ports}; publish the same port on both sides (e.g. 5432:5432) and make the service listen on it to get checkpoints (docs/host-setup.md)`;
}
/** What the warm-up and `cmd:` probes learn about the service, besides the inherited environment. */
function serviceEnvironment(spec) {
    const env = {
        WARMSTART_CONTAINER: spec.name,
        WARMSTART_IMAGE: spec.image,
        WARMSTART_HOST: '127.0.0.1'
    };
    const ports = hostPorts(spec.ports);
    if (ports[0])
        env.WARMSTART_PORT = String(ports[0].host);
    for (const port of ports)
        env[`WARMSTART_PORT_${port.container}`] = String(port.host);
    return env;
}
/**
 * The oldest runtime wrapper (scripts/lib/runtime-wrapper.sh) that points runc at CRIU images
 * unpacked in memory. An older wrapper, or plain runc, gets podman's whole import, as always.
 */
const WRAPPER_WITH_IMAGE_REDIRECT = 2;
function restoreImagesWhere(runtimeWrapper) {
    return runtimeWrapper >= WRAPPER_WITH_IMAGE_REDIRECT ? 'memory' : 'podman';
}

;// CONCATENATED MODULE: ./src/host/host.ts
// Facts about this host that decide whether a checkpoint made elsewhere can run here (they go
// into the cache key) and whether CRIU can work at all. Parsing is pure; reading is separate.








/** The first processor's vendor, model and flags from /proc/cpuinfo (x86 and others). */
function parseCpuinfo(text) {
    const first = text.split(/\n\s*\n/)[0] ?? '';
    const field = (...names) => {
        for (const name of names) {
            const match = new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(first);
            if (match)
                return match[1].trim();
        }
        return '';
    };
    return {
        vendor: field('vendor_id', 'CPU implementer'),
        model: field('model name', 'CPU part', 'cpu model'),
        flags: field('flags', 'Features').split(/\s+/).filter(Boolean).sort()
    };
}
/** `criu --version` prints `Version: 4.2.1` (and a GitID line). */
function parseCriuVersion(output) {
    return /Version:\s*(\S+)/.exec(output)?.[1] ?? '';
}
/** Bumped when PodmanFacts changes shape: a cache of another version is read again from podman. */
const FACTS_CACHE_VERSION = 2;
/**
 * What podman's answers depend on: this boot, the podman and runtime binaries, and podman's
 * configuration files, each by size and modification time. A cache of PodmanFacts is valid while
 * this stays the same: a reboot, a package upgrade or a configuration change reads podman again.
 */
function factsStamp(runtimePath) {
    const files = [
        '/proc/sys/kernel/random/boot_id',
        findOnPath('podman'),
        runtimePath,
        process.env.CONTAINERS_CONF ?? '',
        process.env.CONTAINERS_CONF_OVERRIDE ?? '',
        '/etc/containers/containers.conf',
        '/usr/share/containers/containers.conf',
        ...listDir('/etc/containers/containers.conf.d')
    ].filter(Boolean);
    return files
        .map((file) => {
        try {
            const stat = (0,external_node_fs_namespaceObject.statSync)(file);
            const bootId = file.startsWith('/proc/') ? (0,external_node_fs_namespaceObject.readFileSync)(file, 'utf8').trim() : '';
            return `${file} ${stat.size} ${stat.mtimeMs} ${bootId}`;
        }
        catch {
            return `${file} absent`;
        }
    })
        .join('\n');
}
function findOnPath(command) {
    for (const dir of (process.env.PATH ?? '').split(external_node_path_namespaceObject.delimiter)) {
        if (dir && (0,external_node_fs_namespaceObject.existsSync)((0,external_node_path_namespaceObject.join)(dir, command)))
            return (0,external_node_path_namespaceObject.join)(dir, command);
    }
    return '';
}
function listDir(dir) {
    try {
        return (0,external_node_fs_namespaceObject.readdirSync)(dir).map((name) => (0,external_node_path_namespaceObject.join)(dir, name));
    }
    catch {
        return [];
    }
}
/** The default place for the facts cache: private to this user, cleared at boot when in /run. */
function defaultFactsCache(uid) {
    const base = uid === 0 ? '/run/warmstart' : (0,external_node_path_namespaceObject.join)(process.env.XDG_RUNTIME_DIR || (0,external_node_os_namespaceObject.tmpdir)(), `warmstart-${uid}`);
    return (0,external_node_path_namespaceObject.join)(base, 'podman-facts.json');
}
/** Reads the host: CRIU's state, the fingerprint, and whether non-root services need a userns. */
class HostReader {
    options;
    runner;
    prefix;
    constructor(options) {
        this.options = options;
        this.runner = options.runner ?? runCommand;
        this.prefix = commandPrefix(options.uid ?? process.getuid?.() ?? 0);
    }
    /** Whether CRIU is there and passes `criu check`, run as podman's runtime will run it. */
    async criuStatus() {
        const criu = this.options.criu ?? 'criu';
        // warmstart's set-up puts a private CRIU in /usr/local/sbin, first on runc's PATH.
        const script = `PATH=/usr/local/sbin:$PATH; "$1" --version && "$1" check`;
        const result = await this.runner([...this.prefix, 'sh', '-c', script, 'sh', criu]);
        const version = parseCriuVersion(result.stdout);
        if (result.exitCode === 0)
            return { ok: true, version };
        const said = (result.stderr || result.stdout).trim().split('\n').slice(-2).join(' ');
        const reason = version
            ? `criu check fails: ${said}`
            : `CRIU is not installed (${criu}: ${said || 'not found'}); run warmstart's set-up`;
        return { ok: false, version, reason };
    }
    async fingerprint(criu) {
        const facts = await this.podmanFacts();
        const cpu = parseCpuinfo((0,external_node_fs_namespaceObject.readFileSync)('/proc/cpuinfo', 'utf8'));
        return {
            arch: facts.arch,
            cpuVendor: cpu.vendor,
            cpuModel: cpu.model,
            cpuFlags: cpu.flags,
            kernel: facts.kernel,
            criu: criu.version,
            podman: facts.podman,
            runtime: facts.runtime,
            cgroup: facts.cgroup,
            criuConfig: criuConfigDigest(),
            cpus: facts.cpus,
            memoryGiB: Math.round(facts.memTotal / 1024 ** 3)
        };
    }
    /**
     * podman's facts, from the cache when nothing they depend on changed (`podman info` takes a
     * third of a second, on every `up`), else from podman, then remembered.
     */
    async podmanFacts() {
        const cache = this.options.factsCache ?? defaultFactsCache(this.options.uid ?? process.getuid?.() ?? 0);
        if (cache) {
            try {
                const cached = JSON.parse((0,external_node_fs_namespaceObject.readFileSync)(cache, 'utf8'));
                if (cached.version === FACTS_CACHE_VERSION &&
                    cached.stamp === factsStamp(cached.facts.runtimePath))
                    return cached.facts;
            }
            catch {
                // No cache yet, or an unreadable one: ask podman.
            }
        }
        const info = await this.options.podman.info();
        const facts = {
            arch: info.host.arch,
            kernel: info.host.kernel,
            podman: (await this.options.podman.version()).Client.Version,
            runtime: `${info.host.ociRuntime.name} ${firstLine(info.host.ociRuntime.version)}`,
            runtimePath: info.host.ociRuntime.path,
            cgroup: info.host.cgroupVersion,
            cpus: info.host.cpus,
            memTotal: info.host.memTotal
        };
        if (cache) {
            try {
                (0,external_node_fs_namespaceObject.mkdirSync)((0,external_node_path_namespaceObject.dirname)(cache), { recursive: true, mode: 0o700 });
                const stamp = factsStamp(facts.runtimePath);
                (0,external_node_fs_namespaceObject.writeFileSync)(cache, JSON.stringify({ version: FACTS_CACHE_VERSION, stamp, facts }), {
                    mode: 0o600
                });
            }
            catch {
                // A cache that cannot be written only costs the next run a `podman info`.
            }
        }
        return facts;
    }
    /** AppArmor's state, as root reads it (the profile list is root's only); off where absent. */
    async appArmor() {
        const script = `cat /sys/module/apparmor/parameters/enabled 2>/dev/null; echo '${APPARMOR_SEPARATOR}'; cat /sys/kernel/security/apparmor/profiles 2>/dev/null; true`;
        const result = await this.runner([...this.prefix, 'sh', '-c', script]);
        return parseAppArmor(result.stdout);
    }
    /**
     * The version of warmstart's runtime wrapper (scripts/lib/runtime-wrapper.sh) when podman's
     * runtime is one: its second line says `# warmstart-runtime-wrapper N`. 0 for anything else.
     */
    async runtimeWrapperVersion() {
        const { runtimePath } = await this.podmanFacts();
        if (!runtimePath)
            return 0;
        const result = await this.runner(['head', '-c', '200', runtimePath]);
        return parseRuntimeWrapperVersion(result.exitCode === 0 ? result.stdout : '');
    }
    canDumpOtherUsers() {
        return hostCanDumpOtherUsers();
    }
}
/** The wrapper's version from the start of the runtime's file; 0 when it is not warmstart's. */
function parseRuntimeWrapperVersion(head) {
    const match = /^#!\/bin\/sh\n# warmstart-runtime-wrapper (\d+)\n/.exec(head);
    return match ? Number(match[1]) : 0;
}
/** runc reads CRIU options from this one file. */
const CRIU_RUNC_CONF = '/etc/criu/runc.conf';
/** The text of /etc/criu/runc.conf; '' when there is none. */
function readRuncCriuConfig() {
    return (0,external_node_fs_namespaceObject.existsSync)(CRIU_RUNC_CONF) ? (0,external_node_fs_namespaceObject.readFileSync)(CRIU_RUNC_CONF, 'utf8') : '';
}
function criuConfigDigest() {
    const text = readRuncCriuConfig();
    return text ? (0,external_node_crypto_namespaceObject.createHash)('sha256').update(text).digest('hex').slice(0, 16) : 'none';
}
function firstLine(text) {
    return text.split('\n')[0]?.trim() ?? '';
}

;// CONCATENATED MODULE: ./src/engine/facts.ts
// Read: everything `up` and `warmstart key` need to know before deciding anything, gathered in
// one place. Nothing here starts, pulls or removes: the same facts give the same plan and key
// (see decide.ts), whoever asks.




async function gatherFacts(spec, sources) {
    const host = sources.host ?? new HostReader({ podman: sources.podman });
    const [image, criu, appArmor, runtimeWrapper] = await Promise.all([
        readImage(sources.podman, spec.image),
        host.criuStatus(),
        host.appArmor(),
        host.runtimeWrapperVersion()
    ]);
    return {
        image,
        criu,
        host: await host.fingerprint(criu),
        canDumpOtherUsers: host.canDumpOtherUsers(),
        appArmor,
        runcCriuConfig: readRuncCriuConfig(),
        runtimeWrapper,
        warmupScript: warmupScriptContents(spec.warmup)
    };
}
/** The contents of a script file the warm-up's first word names, so that editing it changes the key. */
function warmupScriptContents(warmup) {
    if (!warmup)
        return undefined;
    let words;
    try {
        words = splitWords(warmup);
    }
    catch {
        return undefined;
    }
    const candidates = words.slice(0, 2).filter((word) => /[/.]/.test(word) && (0,external_node_fs_namespaceObject.existsSync)(word));
    const file = candidates.find((word) => (0,external_node_fs_namespaceObject.statSync)(word).isFile());
    return file ? (0,external_node_fs_namespaceObject.readFileSync)(file, 'utf8') : undefined;
}

;// CONCATENATED MODULE: ./src/archive/tar-listing.ts
/** tar's `ls -l` type letter, as the tar header's type flag that src/archive/inspect.ts checks. */
const TYPE_FLAGS = {
    '-': '0',
    d: '5',
    l: '2',
    h: '1',
    c: '3',
    b: '4',
    p: '6'
};
const QUOTED = String.raw `"((?:[^"\\]|\\.)*)"`;
// mode, uid/gid, size (or major,minor), the date (not parsed: tar prints odd times as numbers),
// the name, and a link's target.
const MEMBER = new RegExp(String.raw `^(.)\S{9} +\d+/\d+ +(\d+|\d+,\d+) [^"]*?${QUOTED}(?: (->|link to) ${QUOTED})?$`);
// A parent directory the archive did not list, which tar made before a member inside it.
const MADE_DIRECTORY = new RegExp(String.raw `^d\S{9} +Creating directory: ${QUOTED}$`);
function parseTarListing(text) {
    const entries = [];
    const problems = [];
    for (const line of text.split('\n')) {
        if (!line || MADE_DIRECTORY.test(line))
            continue;
        const match = MEMBER.exec(line);
        if (!match) {
            problems.push(`tar listed a member this cannot read: ${JSON.stringify(line.slice(0, 200))}`);
            continue;
        }
        const [, letter, size, name, , target] = match;
        entries.push({
            path: unquote(name),
            type: TYPE_FLAGS[letter] ?? letter,
            size: size.includes(',') ? 0 : Number(size),
            linkTarget: target === undefined ? '' : unquote(target)
        });
    }
    return { entries, problems };
}
const ESCAPES = {
    a: 7,
    b: 8,
    t: 9,
    n: 10,
    v: 11,
    f: 12,
    r: 13,
    '"': 34,
    '\\': 92,
    '?': 63
};
/** Undoes --quoting-style=c: backslash escapes and octal bytes, then UTF-8 as tar headers hold. */
function unquote(quoted) {
    const bytes = [];
    for (let i = 0; i < quoted.length; i++) {
        const char = quoted[i];
        if (char !== '\\') {
            bytes.push(...Buffer.from(char, 'utf8'));
            continue;
        }
        const octal = /^[0-7]{3}/.exec(quoted.slice(i + 1));
        if (octal) {
            bytes.push(parseInt(octal[0], 8));
            i += 3;
            continue;
        }
        const next = quoted[i + 1] ?? '';
        bytes.push(ESCAPES[next] ?? next.charCodeAt(0));
        i += 1;
    }
    return Buffer.from(bytes).toString('utf8');
}

;// CONCATENATED MODULE: ./src/engine/image-dir.ts
// The in-memory restore: the checkpoint part streams from the archive through zstd into a root
// `tar -x` in a directory of warmstart's tmpfs area, while its bytes are hashed and its tar
// entries checked as for podman's import (src/archive/inspect.ts), from tar's own listing of
// what it unpacks (see unpackListed); podman is then given a slim archive: everything but CRIU's
// images, plus checkpoint/inventory.img and descriptors.json (podman and runc read them) and a
// marker naming the directory. podman extracts that small archive; the runtime wrapper
// (scripts/lib/runtime-wrapper.sh) finds the marker and points runc's --image-path at the
// directory, which it refuses unless it is this area's. The pages are written once, to memory,
// instead of to a decompressed tar and then again onto podman's storage on the disk, and read
// back from there.
//
// What a tar unpacks is checked after it ran: one GNU tar, in a fresh directory only root can
// write, does not write outside it (it drops leading / and .. and never writes through a link it
// made), as with the volumes (src/volumes.ts); a checkpoint that fails a check is removed before
// podman or CRIU sees it.




/** warmstart's area for CRIU images: root's, mode 0711; the wrapper accepts nothing else. */
const IMAGE_AREA = '/dev/shm/warmstart-images';
/**
 * As root: checks the area (made if missing) and makes a new restore directory in it, with an
 * empty `slim/` to unpack into. Fails when the area is not root's with mode 0711: someone else
 * made it, and it is not used.
 */
const CREATE = `set -eu
area=$1
umask 077
[ -e "$area" ] || { mkdir -p "$area" && chmod 0711 "$area"; }
if [ -L "$area" ] || [ "$(stat -c %u:%a "$area")" != 0:711 ]; then
  echo "$area is not root's with mode 0711; not using it" >&2
  exit 3
fi
dir=$(mktemp -d "$area/restore.XXXXXXXX")
chmod 0711 "$dir"
mkdir "$dir/slim"
echo "$dir"`;
/**
 * As root, after the checkpoint part is unpacked into `slim/` and checked: CRIU's images move to
 * `images/`, and what podman needs is packed with the marker into `slim.tar`.
 */
const FINISH = `set -eu
dir=$1 marker=$2
[ -f "$dir/slim/checkpoint/inventory.img" ] || { echo "the checkpoint has no checkpoint/inventory.img" >&2; exit 4; }
mv "$dir/slim/checkpoint" "$dir/images"
mkdir "$dir/slim/checkpoint"
for file in inventory.img descriptors.json; do
  [ ! -f "$dir/images/$file" ] || cp -p "$dir/images/$file" "$dir/slim/checkpoint/"
done
printf '%s\\n' "$dir/images" >"$dir/slim/checkpoint/$marker"
tar -C "$dir/slim" -cf "$dir/slim.tar" .
rm -rf "$dir/slim"`;
/** A new restore directory in the area; throws (nothing made) when the area is not warmstart's. */
async function createImageDir(podman) {
    const argv = podman.asRoot(['sh', '-c', CREATE, 'sh', IMAGE_AREA]);
    const dir = (await collectOutput(argv, `making a directory in ${IMAGE_AREA}`))
        .toString('utf8')
        .trim();
    if (!dir.startsWith(`${IMAGE_AREA}/restore.`)) {
        throw new Error(`making a directory in ${IMAGE_AREA} said '${dir}', not a directory`);
    }
    return dir;
}
/**
 * Unpacks the checkpoint part into `dir` (made by createImageDir), checks its SHA-256 and its tar
 * entries, and makes the slim archive. Throws when anything is wrong; the caller removes `dir`.
 */
async function unpackImages(podman, archive, part, dir) {
    const { inspection, untarFailed } = await unpackListed(podman, archive, part, `${dir}/slim`);
    assertCheckpointPart(inspection, part);
    if (untarFailed)
        throw untarFailed;
    const argv = podman.asRoot(['sh', '-c', FINISH, 'sh', dir, IMAGE_PATH_MARKER]);
    await collectOutput(argv, 'packing what podman needs of the checkpoint');
    return { slimArchive: `${dir}/slim.tar`, images: `${dir}/images` };
}
/**
 * Unpacks the part into `into` (src/archive/unpack-part.ts), tar listing every member it writes
 * (src/archive/tar-listing.ts): warmstart checks each entry of the very stream tar unpacks,
 * without the plain tar passing through Node.
 */
async function unpackListed(podman, archive, part, into) {
    const unpacked = await unpackPart(podman, archive, part, into, {
        what: 'unpacking the checkpoint into memory',
        tarOptions: ['-vv', '--quoting-style=c']
    });
    const { entries, problems } = parseTarListing(unpacked.stdout.toString('latin1'));
    const inspection = {
        sha256: unpacked.sha256,
        bytes: part.bytes,
        entries,
        unpackedBytes: entries.reduce((sum, entry) => sum + entry.size, 0),
        importPath: '',
        unreadable: problems.length ? problems.slice(0, 3).join('; ') : undefined
    };
    // Reported after the checks, which say more.
    return { inspection, untarFailed: unpacked.failed };
}
/** Removes a restore directory (as root); one already gone is fine. */
async function removeImageDir(podman, dir) {
    if (!dir.startsWith(`${IMAGE_AREA}/restore.`))
        return;
    await collectOutput(podman.asRoot(['rm', '-rf', '--', dir]), `removing ${dir}`);
}

;// CONCATENATED MODULE: ./src/engine/restore.ts
// The warm path: from a stored archive to a restored service. The manifest is checked against this
// host and run first; then the volumes are unpacked straight into place while the checkpoint part
// decompresses beside them (its CRIU images straight into memory where warmstart's runtime
// wrapper can point runc there: src/engine/image-dir.ts), every part's SHA-256 checked (from a
// local archive, on warmstart's own read of the range dd feeds the tar), and podman restores the
// processes onto them.














/** Restores from a stored archive, after checking that its manifest fits this host and run. */
async function restoreWarm(plan, hit, imageReady, options, timings) {
    const differences = manifestDifferences(hit.metadata, plan.key, hit.key);
    if (differences.length) {
        throw new Error(`its manifest does not match this run: ${differences.join('; ')}`);
    }
    const archive = hit.source ?? fileSource(hit.archivePath);
    const bytes = archive.bytes;
    if (bytes !== hit.metadata.bytes) {
        throw new Error(`the archive is ${bytes} bytes, ${hit.metadata.bytes} were stored (truncated?)`);
    }
    return restoreArchive(plan, archive, decodeParts(hit.metadata.parts, bytes), imageReady, options, timings);
}
/**
 * Puts the volumes back and decompresses the checkpoint part, side by side, checking every
 * part's SHA-256 and the checkpoint's tar entries on the way; then has podman restore the
 * processes and waits until the service answers (the image must be here: `imageReady`). What a
 * failure leaves is for the caller to remove. Also how the cold path resumes a service whose
 * in-place restore failed, from the archive it just made.
 */
async function restoreArchive(plan, archive, parts, imageReady, options, timings) {
    const { podman } = options;
    const checkpoint = parts[0];
    const volumes = volumeGroups(parts);
    const scratch = (0,external_node_fs_namespaceObject.mkdtempSync)((0,external_node_path_namespaceObject.join)(scratchParent(checkpoint, options), 'warmstart-restore-'));
    let imageDir;
    try {
        const importPath = await timings.time('unpack', async () => {
            const unpackedBytes = volumes.flat().reduce((sum, part) => sum + part.unpackedBytes, 0);
            const storage = chooseVolumeStorage(plan.spec.volumeStorage, unpackedBytes, (0,external_node_os_namespaceObject.totalmem)());
            if (volumes.length) {
                options.logger.info(`unpacking ${volumes.length} volume(s), ${formatBytes(unpackedBytes)}, ${storage === 'memory' ? 'into memory (tmpfs)' : 'onto disk'}`);
            }
            // The checkpoint part takes longest to decompress: it starts first, while the volumes are
            // made, side by side.
            const checkpointPath = checkpointForPodman(plan, archive, checkpoint, scratch, options, (dir) => (imageDir = dir));
            checkpointPath.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
            const created = await Promise.allSettled(volumes.map(([first]) => createVolumeFor(podman, first, plan.spec.name, storage)));
            const notCreated = created.find((result) => result.status === 'rejected');
            if (notCreated) {
                // Nothing may still be writing into the scratch directory when it is removed.
                await checkpointPath.catch(() => undefined);
                throw notCreated.reason;
            }
            const mountpoints = created.map((result) => result.value);
            const volumesDone = volumes.map((slices, i) => unpackVolumeSlices(podman, archive, slices, mountpoints[i]));
            // allSettled: nothing may still be writing into a volume when a failure is cleaned up.
            const settled = await Promise.allSettled([checkpointPath, ...volumesDone]);
            const failed = settled.find((result) => result.status === 'rejected');
            if (failed)
                throw failed.reason;
            return settled[0].value;
        });
        await imageReady.catch((error) => {
            throw new Error(`the image could not be pulled by digest: ${message(error)}`);
        });
        const restored = await timings.time('restore', async () => {
            if (plan.loadAppArmorProfile)
                await loadAppArmorProfile(plan, options);
            return podman.restore({
                importPath,
                // podman rejects --tcp-established with --name (podman 4.3: "cannot be used with
                // --name"); the checkpoint was made of a container of this name, which it keeps.
                name: plan.spec.tcpEstablished ? undefined : plan.spec.name,
                fileLocks: plan.spec.fileLocks,
                tcpEstablished: plan.spec.tcpEstablished,
                ignoreVolumes: parts.length > 1,
                printStats: true,
                timeoutSeconds: restoreTimeoutSeconds(plan.spec, parts.reduce((sum, part) => sum + part.bytes, 0))
            });
        });
        await timings.time('ready', () => waitUntilReady(plan.probe, probeContext(plan, options.podman), plan.spec.readyTimeoutSeconds));
        return restored;
    }
    finally {
        (0,external_node_fs_namespaceObject.rmSync)(scratch, { recursive: true, force: true });
        if (imageDir)
            await removeImageDir(podman, imageDir).catch(() => undefined);
    }
}
/**
 * Where the checkpoint part goes for podman: with warmstart's runtime wrapper, CRIU's images into
 * a directory of its memory area and a slim archive for podman (src/engine/image-dir.ts); else,
 * or when /dev/shm is short of room or that area cannot be used, the whole tar decompressed for
 * podman's import.
 */
async function checkpointForPodman(plan, archive, checkpoint, scratch, options, made) {
    // In memory only where /dev/shm has room to spare (scratchParent chose it for the scratch).
    if (plan.restoreImages === 'memory' && scratch.startsWith(`${SHM}/`)) {
        let dir;
        try {
            dir = await createImageDir(options.podman);
        }
        catch (error) {
            options.logger.info(`CRIU's images go through podman's import (${message(error)}): the slower way`);
        }
        if (dir) {
            made(dir);
            return (await unpackImages(options.podman, archive, checkpoint, dir)).slimArchive;
        }
    }
    return checkCheckpointPart(archive, checkpoint, (0,external_node_path_namespaceObject.join)(scratch, 'checkpoint.tar'));
}
/**
 * Initialises a throwaway container of the image, which makes podman load its AppArmor profile
 * for containers (see src/host/apparmor.ts), then removes it. A failure is only logged: the
 * restore is tried anyway, and falls back cold if it fails.
 */
async function loadAppArmorProfile(plan, options) {
    const { podman, logger } = options;
    const throwaway = `${plan.spec.name}-warmstart-apparmor`;
    logger.info("loading podman's AppArmor profile for containers before the restore");
    try {
        await podman.forceRemove(throwaway);
        await podman.podman(['create', '--name', throwaway, plan.spec.image]);
        await podman.podman(['init', throwaway]);
    }
    catch (error) {
        logger.info(`could not load it (${message(error)}); restoring anyway`);
    }
    finally {
        await podman.forceRemove(throwaway).catch(() => undefined);
    }
}
/**
 * Where the checkpoint part is decompressed for podman to import: /dev/shm when it has room to
 * spare (a checkpoint's memory pages compress about 6:1; writing them to a tmpfs and reading
 * them back costs less than going through the disk), else the work directory.
 */
function scratchParent(checkpoint, options) {
    const fallback = options.workDir ?? (0,external_node_os_namespaceObject.tmpdir)();
    try {
        const shm = (0,external_node_fs_namespaceObject.statfsSync)(SHM);
        if (shm.bavail * shm.bsize > checkpoint.bytes * 20)
            return SHM;
    }
    catch {
        // No /dev/shm here.
    }
    return fallback;
}
const SHM = '/dev/shm';
/** The checkpoint part, decompressed to `decompressTo` for podman, if it is what was stored. */
async function checkCheckpointPart(archive, part, decompressTo) {
    const inspection = await inspectArchive(archive, { decompressTo, range: part });
    assertCheckpointPart(inspection, part);
    if (inspection.importPath === decompressTo)
        return decompressTo;
    // A plain part: podman imports a file, so a part inside a larger file (or not in a file at
    // all) is copied out, and checked again on the way, since it was read anew.
    if (archive.path && part.offset === 0 && part.bytes === archive.bytes)
        return archive.path;
    const copy = (0,external_node_fs_namespaceObject.createWriteStream)(decompressTo, { mode: 0o600 });
    const copied = await inspectArchive(archive, { range: part, plainSink: copy });
    await (0,external_node_stream_promises_namespaceObject.finished)(copy);
    assertCheckpointPart(copied, part);
    return decompressTo;
}
/**
 * A volume's file slices side by side (tar makes the directories they need), then its slice of
 * directories and links, which sets the directories' owners and modes and makes the links last:
 * no link exists while the file slices write (see splitListing). Each part is checked.
 */
async function unpackVolumeSlices(podman, archive, slices, mountpoint) {
    const [tree, ...files] = slices;
    // Every directory first, from the tree slice's listing (checked against its SHA-256): tars
    // running side by side race to make shared parents (see makeDirectories).
    const listing = await inspectArchive(archive, { range: tree });
    if (listing.sha256 !== tree.sha256) {
        throw new Error(`the part of volume ${tree.name} has SHA-256 ${listing.sha256}, ${tree.sha256} was stored (damaged?)`);
    }
    if (listing.unreadable)
        throw new Error(`volume ${tree.name}: ${listing.unreadable}`);
    await makeDirectories(podman, mountpoint, listing.entries.filter((entry) => entry.type === '5').map((entry) => entry.path));
    const settled = await Promise.allSettled(files.map((part) => unpackChecked(podman, archive, part, mountpoint)));
    const failed = settled.find((result) => result.status === 'rejected');
    if (failed)
        throw failed.reason;
    await unpackChecked(podman, archive, tree, mountpoint);
    await refuseDevices(podman, tree.name, mountpoint);
}
async function unpackChecked(podman, archive, part, mountpoint) {
    const sha256 = await unpackVolume(podman, archive, part, mountpoint);
    if (sha256 !== part.sha256) {
        throw new Error(`the part of volume ${part.name} has SHA-256 ${sha256}, ${part.sha256} was stored (damaged?)`);
    }
}

;// CONCATENATED MODULE: ./src/engine/service.ts





async function removeService(podman, name) {
    await podman.forceRemove(name);
    await removeVolumesOf(podman, name);
}
/**
 * Waits for the image a cold start needs: the pull by digest when one is under way, else (the
 * digest the key names may be gone from the registry while the name still resolves) a pull by
 * name. Returns the warning to give when the pull by digest failed.
 */
async function ensureImage(plan, imageReady, options, timings) {
    const { podman } = options;
    const failed = await imageReady.then(() => undefined, (error) => message(error));
    if (failed === undefined)
        return undefined;
    await timings
        .time('pull', () => podman.pull(plan.spec.image))
        .catch((e) => {
        throw new UpError(`image ${plan.spec.image} could not be pulled: ${message(e)}`);
    });
    return `pulling ${plan.spec.image} by digest failed (${failed}); pulling it by name`;
}
/**
 * Starts the container and waits until it is ready; nothing is left behind when that fails.
 * The image must be here (ensureImage).
 */
async function startCold(plan, options, timings) {
    const { podman, logger } = options;
    let id;
    try {
        id = await timings.time('start', () => podman.run(plan.run));
    }
    catch (error) {
        await podman.forceRemove(plan.spec.name).catch(() => undefined);
        throw new UpError(`could not start ${plan.spec.name}: ${await explainStartFailure(error, podman)}`);
    }
    logger.info(`waiting for ${describeProbe(plan.probe)} (up to ${plan.spec.readyTimeoutSeconds} s)`);
    try {
        await timings.time('ready', () => waitUntilReady(plan.probe, probeContext(plan, options.podman), plan.spec.readyTimeoutSeconds));
    }
    catch (error) {
        await podman.forceRemove(plan.spec.name).catch(() => undefined);
        throw new UpError(message(error));
    }
    return id;
}
/** Runs the warm-up; when it fails, the service is removed and `up` fails with its exit code. */
async function warmUp(plan, options, timings) {
    const { podman, logger } = options;
    const { spec } = plan;
    if (!spec.warmup)
        return;
    const { exitCode, output } = await logger.group(`Warm up ${spec.name}`, () => timings.time('warmup', () => runLogged(spec.warmup, plan, logger)));
    if (exitCode === 0)
        return;
    logger.info(`last log lines of ${spec.name}:\n${await podman.logs(spec.name)}`);
    await podman.forceRemove(spec.name).catch(() => undefined);
    throw new UpError(`the warm-up failed with exit code ${exitCode}; nothing was saved and ${spec.name} was removed. Its last output:\n${output.join('\n')}`, exitCode);
}
/** Runs `refresh` on a service restored from an older checkpoint; throws when it fails. */
async function refresh(plan, options, timings) {
    const { logger } = options;
    const { spec } = plan;
    const { exitCode, output } = await logger.group(`Refresh ${spec.name}`, () => timings.time('refresh', () => runLogged(spec.refresh, plan, logger)));
    if (exitCode !== 0) {
        throw new Error(`the refresh failed with exit code ${exitCode}. Its last output:\n${output.join('\n')}`);
    }
}
/** Runs a host command with the service's environment, its lines in the log; keeps the last ones. */
async function runLogged(command, plan, logger) {
    const output = [];
    const exitCode = await runShell(command, {
        env: plan.serviceEnv,
        onLine: (line) => {
            logger.info(`  ${line}`);
            output.push(line);
            if (output.length > WARMUP_OUTPUT_LINES)
                output.shift();
        }
    });
    return { exitCode, output };
}
/** How much of a failed warm-up's output its error repeats. */
const WARMUP_OUTPUT_LINES = 15;
/** Starts the service again from scratch, warm-up included: when its checkpoint left it stopped. */
async function restartCold(plan, options, timings) {
    await removeService(options.podman, plan.spec.name);
    await startCold(plan, options, timings);
    await warmUp(plan, options, timings);
}
async function containerId(podman, name) {
    return (await podman.inspectContainer(name)).Id;
}
/** Names the port and its holder when the start failed because a port was taken. */
async function explainStartFailure(error, podman) {
    const text = message(error);
    const port = /listen tcp[46]? [^:]*:(\d+): bind: address already in use/.exec(text)?.[1];
    if (!port)
        return text;
    const holder = (await podman.containersPublishing(Number(port)).catch(() => [])).join(', ');
    return `port ${port} is already in use${holder ? ` by container ${holder}` : ' on this host'}: pick another host port in ports`;
}

;// CONCATENATED MODULE: ./src/engine/engine.ts
// The warm loop. `up` restores a service from its checkpoint when the store has one, and else
// starts it cold, warms it up and checkpoints it for next time. `down` removes it.
//
// `up` reads (facts.ts), decides (decide.ts), then acts: the phases (restore.ts, service.ts,
// checkpoint.ts) each report what happened, and what follows is decided here alone.
//
// Failure policy, in one place (this file): anything wrong on the warm path (a failed lookup, a
// damaged archive, a restore, refresh or readiness failure) falls back to a cold start with a
// warning; anything wrong with checkpointing or storing is a warning and the service stays up
// (started cold again, with a warning, when the checkpoint left it stopped and its archive could
// not bring it back). Only a service that cannot be started at all, or a warm-up that fails,
// fails `up`.
















// The engine's API, in one place for its callers (the CLI, the Action, the benchmark).



/**
 * The plan `up` would follow for this spec here, without acting: what `warmstart key` prints.
 * Throws UpError when the image is neither here nor known to its registry.
 */
async function planFor(spec, sources) {
    const facts = await gatherFacts(spec, sources);
    try {
        return decidePlan(spec, facts);
    }
    catch (error) {
        if (error instanceof UnknownImageError)
            throw new UpError(`image ${error.message}`);
        throw error;
    }
}
async function up(spec, options) {
    const timings = new Timings();
    const warnings = [];
    const { podman, store, logger } = options;
    const warn = (message) => {
        warnings.push(message);
        logger.warning(message);
    };
    const { plan, imageReady } = await logger.group(`Prepare ${spec.name}`, async () => {
        // Side by side: reading the host and the image does not depend on the name being free.
        const [cleared, read] = await Promise.allSettled([
            clearName(spec, options),
            readFacts(spec, options, timings)
        ]);
        if (cleared.status === 'rejected')
            throw cleared.reason;
        if (read.status === 'rejected')
            throw read.reason;
        const facts = read.value;
        const decided = decidePlan(spec, facts);
        const plan = options.restoreImages
            ? { ...decided, restoreImages: options.restoreImages }
            : decided;
        // Before any start or restore: runc hands CRIU this file for the container (see
        // src/host/criu-config.ts). Without it CRIU runs with its defaults: said, not fatal.
        await podman
            .writeRootFile(plan.criuConfig.path, plan.criuConfig.content)
            .catch((error) => warn(`could not write ${plan.criuConfig.path} (CRIU's options for ${spec.name}): ${message(error)}`));
        if (facts.image.where === 'registry')
            logger.info(`pulling ${facts.image.pullReference} while the checkpoint is looked up`);
        if (plan.userNamespace)
            logger.info(`${spec.image} runs as ${facts.image.where !== 'unknown' ? facts.image.user : '?'}: using a user namespace on the host network (see docs/host-setup.md)`);
        return { plan, imageReady: fetchImage(podman, spec.image, facts.image, timings) };
    });
    logger.info(`cache key: ${plan.key.key}`);
    for (const [name, value] of Object.entries(plan.key.components)) {
        logger.debug(`key ${name}: ${value}`);
    }
    const result = (outcome) => ({
        cacheHit: outcome.cacheHit,
        restored: outcome.restored,
        containerId: outcome.id,
        containerName: spec.name,
        cacheKey: plan.key.key,
        startupSeconds: outcome.startupSeconds,
        checkpointBytes: outcome.bytes,
        saved: outcome.saved,
        ...(outcome.checkpointFailure ? { checkpointFailure: outcome.checkpointFailure } : {}),
        ...(outcome.restoreStats ? { restoreStats: outcome.restoreStats } : {}),
        timings: timings.phases(),
        warnings
    });
    // The warm path.
    let cacheHit = false;
    const hit = plan.restore.ok ? await lookup(plan, options, timings, warn) : undefined;
    if (!plan.restore.ok)
        warn(`${plan.restore.reason}: starting cold without a checkpoint`);
    if (hit) {
        cacheHit = hit.key === plan.key.key;
        logger.info(`found checkpoint ${hit.key} (${formatBytes(hit.bytes)}) in ${store.description}`);
        const restored = await logger
            .group(`Restore ${spec.name}`, async () => {
            const done = await restoreWarm(plan, hit, imageReady, options, timings);
            // A restore key matched: bring the older checkpoint up to date before it is saved anew.
            if (!cacheHit)
                await refresh(plan, options, timings);
            return done;
        })
            .then((done) => ({ ok: true, ...done }), (error) => ({ ok: false, reason: message(error) }));
        if (restored.ok && cacheHit) {
            const startupSeconds = timings.sinceStart();
            return result({
                cacheHit,
                restored: true,
                id: restored.id,
                startupSeconds,
                bytes: hit.bytes,
                saved: false,
                restoreStats: restored.stats
            });
        }
        if (restored.ok) {
            const startupSeconds = timings.sinceStart();
            const stored = await checkpointAndStore(plan, imageReady, options, timings, warn);
            return result({
                cacheHit,
                restored: true,
                startupSeconds,
                restoreStats: restored.stats,
                ...stored
            });
        }
        warn(`restore from ${hit.key} failed, starting cold instead: ${restored.reason}`);
        await removeService(podman, spec.name).catch((e) => warn(`could not remove what the failed restore left: ${message(e)}`));
        if (cacheHit)
            await store.discard(hit.key).catch(() => undefined);
    }
    // The cold path.
    await logger.group(`Start ${spec.name}`, async () => {
        const pulledByName = await ensureImage(plan, imageReady, options, timings);
        if (pulledByName)
            warn(pulledByName);
        await startCold(plan, options, timings);
    });
    await warmUp(plan, options, timings);
    const startupSeconds = timings.sinceStart();
    const stored = await checkpointAndStore(plan, Promise.resolve(), options, timings, warn);
    return result({ cacheHit, restored: false, startupSeconds, ...stored });
}
/**
 * Why a checkpoint cannot work, when the service (root in its image) dropped to another user this
 * host cannot dump (src/host/userns.ts): the checkpoint is skipped rather than tried and failed.
 * Undefined when every process runs as root, or when the users cannot be read (then it is tried).
 */
async function usersThisHostCannotDump(plan, podman) {
    const users = await podman.processUsers(plan.spec.name).catch(() => []);
    const others = nonRootUsers(users);
    if (!others.length)
        return undefined;
    return `${plan.spec.image} starts as root and its processes run as ${others.join(', ')}: ${otherUsersFix(plan.spec)}`;
}
/** Removes the service's container, whatever state it is in, and the volumes warmstart made for it. */
async function down(name, options) {
    await removeService(options.podman, name);
}
/** A container already holding the name is an error, unless `replace` asks to remove it. */
async function clearName(spec, options) {
    if (!(await options.podman.containerExists(spec.name)))
        return;
    if (!options.replace) {
        throw new UpError(`a container named ${spec.name} already exists: remove it (warmstart down ${spec.name}), pick another name, or pass --replace`);
    }
    options.logger.info(`replacing the existing container ${spec.name}`);
    await removeService(options.podman, spec.name);
}
/**
 * The facts `up` decides on. An image neither here nor known to its registry (no skopeo, a
 * registry that cannot be asked without pulling) is pulled by name first, as podman would.
 */
async function readFacts(spec, options, timings) {
    const facts = await gatherFacts(spec, options);
    if (facts.image.where !== 'unknown')
        return facts;
    await timings
        .time('pull', () => options.podman.pull(spec.image))
        .catch((error) => {
        throw new UpError(`image ${spec.image} is not here and could not be pulled: ${message(error)}`);
    });
    const image = await readImage(options.podman, spec.image);
    if (image.where !== 'here')
        throw new UpError(`image ${spec.image} was pulled but cannot be inspected`);
    return { ...facts, image };
}
/** The store's entry for the plan's key or restore keys; a failed lookup is a warning and a miss. */
async function lookup(plan, options, timings, warn) {
    const { store, logger } = options;
    const restoreKeys = restoreKeyPrefixes(plan.key.prefix, plan.spec.restoreKeys);
    const hit = await timings
        .time('lookup', () => store.lookup(plan.key.key, restoreKeys))
        .catch((error) => {
        warn(`checkpoint lookup in ${store.description} failed: ${message(error)}; starting cold`);
        return undefined;
    });
    if (!hit)
        logger.info(`no checkpoint for this key in ${store.description}: starting cold`);
    return hit;
}
/**
 * Checkpoints the running, warmed-up service and stores the archive. Never fails `up`: each
 * failure is a warning, and the service is up afterwards whatever the checkpoint did to it.
 */
async function checkpointAndStore(plan, imageReady, options, timings, warn) {
    const { podman, logger, store } = options;
    const { spec } = plan;
    const notSaved = async (checkpointFailure) => ({
        id: await containerId(podman, spec.name),
        bytes: 0,
        saved: false,
        checkpointFailure
    });
    if (options.checkpoint === false) {
        logger.info('no checkpoint is made: this run does not save one');
        return notSaved();
    }
    if (!plan.checkpoint.ok) {
        // A CRIU problem was said when the warm path was skipped; say any other one here.
        if (plan.restore.ok)
            warn(`no checkpoint: ${plan.checkpoint.reason}`);
        return notSaved(plan.checkpoint.reason);
    }
    if (plan.checkUidsBeforeCheckpoint) {
        const doomed = await usersThisHostCannotDump(plan, podman);
        if (doomed) {
            warn(`no checkpoint: ${doomed}`);
            return notSaved(doomed);
        }
    }
    const workDir = (0,external_node_fs_namespaceObject.mkdtempSync)((0,external_node_path_namespaceObject.join)(options.workDir ?? (0,external_node_os_namespaceObject.tmpdir)(), 'warmstart-'));
    try {
        const made = await logger.group(`Checkpoint ${spec.name}`, () => makeCheckpoint(plan, options, timings, workDir));
        if (!made.made) {
            warn(`no checkpoint: ${made.reason}`);
            if (made.service === 'stopped') {
                warn(`the checkpoint left ${spec.name} stopped: starting it again cold, warm-up included`);
                await restartCold(plan, options, timings);
            }
            return notSaved(made.reason);
        }
        if (made.service === 'stopped') {
            // The archive may be fine; only the container could not be resumed in place. Import it.
            warn(`resuming ${spec.name} in place failed, importing its checkpoint instead: ${made.resumeFailure}`);
            await removeService(podman, spec.name);
            try {
                // Timed by its own phases (unpack, restore, ready): a phase around them would count twice.
                await restoreArchive(plan, fileSource(made.archive), made.parts, imageReady, options, timings);
            }
            catch (error) {
                warn(`importing the checkpoint failed too, starting ${spec.name} again cold: ${message(error)}`);
                await removeService(podman, spec.name);
                await restartCold(plan, options, timings);
                return notSaved(`the service could not be resumed from its checkpoint: ${message(error)}`);
            }
        }
        const metadata = buildManifest({
            key: plan.key,
            sha256: made.sha256,
            bytes: made.bytes,
            parts: made.parts,
            image: spec.image,
            createdAt: new Date()
        });
        const outcome = await timings
            .time('store', () => store.save(plan.key.key, made.archive, metadata))
            .catch((error) => {
            warn(`the checkpoint could not be stored in ${store.description}: ${message(error)}; the service is up`);
            return { saved: false, staged: false, bytes: made.bytes, reason: undefined };
        });
        const handed = outcome.saved || outcome.staged === true;
        if (outcome.saved)
            logger.info(`stored ${formatBytes(made.bytes)} under ${plan.key.key}`);
        else if (handed)
            logger.info(`${formatBytes(made.bytes)} staged for upload under ${plan.key.key}`);
        else if (outcome.reason)
            logger.info(`not stored: ${outcome.reason}`);
        return { id: await containerId(podman, spec.name), bytes: made.bytes, saved: handed };
    }
    finally {
        (0,external_node_fs_namespaceObject.rmSync)(workDir, { recursive: true, force: true });
    }
}

;// CONCATENATED MODULE: ./src/logger.ts
/** For the command line: progress on stderr, so that stdout carries only results (`--json`). */
function consoleLogger(options = {}) {
    const write = (line) => void process.stderr.write(`${line}\n`);
    return {
        debug: (message) => (options.verbose ? write(`  debug: ${message}`) : undefined),
        info: (message) => write(message),
        warning: (message) => write(`warning: ${message}`),
        group: async (title, work) => {
            write(`==> ${title}`);
            return work();
        }
    };
}
/** Says nothing: for callers that only want results. */
const silentLogger = {
    debug: () => undefined,
    info: () => undefined,
    warning: () => undefined,
    group: (_title, work) => work()
};

;// CONCATENATED MODULE: ./src/store/local.ts
// The checkpoint store for laptops, self-hosted runners and other CI: a directory on this machine.
//
// Layout, all in one flat directory:
//   <keyhash>-<unique>.tar  an archive; immutable once it has this name, always complete
//   <keyhash>.json          the pointer of a key: key, archive name, bytes, times, metadata
//   <keyhash>.used          when the entry was last looked up (a hint for LRU pruning)
//   .tmp-<unique>           a file being written; renamed into place once complete and synced
//
// Saving never overwrites a file in place: the archive gets a fresh name and the pointer is
// replaced by rename(2), so readers and concurrent writers (threads or processes) see either the
// old entry or the new one, never a mix. The last rename wins. An archive no pointer names is
// garbage, removed only once it has been left alone for a grace period, because a reader that
// read the pointer just before it was replaced may still be about to open it.




const DEFAULT_MAX_BYTES = 10 * 1024 ** 3;
const MAX_KEY_LENGTH = 512;
/** How long garbage (temp files, unreferenced archives) is left alone before prune removes it. */
const GARBAGE_GRACE_MS = 10 * 60 * 1000;
const POINTER_FILE = /^([0-9a-f]{32})\.json$/;
const USE_RECORD_FILE = /^([0-9a-f]{32})\.used$/;
const ARCHIVE_FILE = /^([0-9a-f]{32})-[0-9a-f-]+\.tar$/;
const TEMP_PREFIX = '.tmp-';
class LocalDirectoryStore {
    description;
    dir;
    maxBytes;
    now;
    constructor(options) {
        const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
        if (!Number.isFinite(maxBytes) || maxBytes < 0) {
            throw new Error(`local store size cap must be a number of bytes >= 0, got ${maxBytes}`);
        }
        this.dir = external_node_path_namespaceObject.resolve(options.dir);
        this.maxBytes = maxBytes;
        this.now = options.now ?? Date.now;
        this.description = `local directory ${this.dir}`;
    }
    async lookup(key, restoreKeys = []) {
        assertValidKey(key);
        const entry = (await this.exactEntry(key)) ?? (await this.newestEntryByPrefix(restoreKeys));
        if (!entry)
            return undefined;
        await this.recordUse(entry.key);
        return {
            key: entry.key,
            archivePath: entry.archivePath,
            bytes: entry.bytes,
            metadata: entry.metadata
        };
    }
    async save(key, archivePath, metadata) {
        assertValidKey(key);
        assertValidMetadata(metadata);
        let bytes;
        try {
            bytes = await fileSize(archivePath);
            if (bytes <= this.maxBytes)
                await this.publish(key, archivePath, metadata);
        }
        catch (error) {
            throw new Error(`cannot save checkpoint in ${this.description}: ${reason(error)}`, {
                cause: error
            });
        }
        if (bytes > this.maxBytes) {
            const why = `the archive (${bytes} bytes) is larger than the store's cap of ${this.maxBytes} bytes`;
            return { saved: false, bytes, reason: why };
        }
        try {
            await this.prune();
        }
        catch (error) {
            throw new Error(`saved, but cannot prune ${this.description}: ${reason(error)}`, {
                cause: error
            });
        }
        return { saved: true, bytes };
    }
    async discard(key) {
        assertValidKey(key);
        const hash = keyHash(key);
        const removed = await this.removePointerIf(hash, async () => true);
        if (removed)
            await this.removeArchiveAndUseRecord(hash, removed.pointer);
    }
    /** Every intact entry, most recently used first. */
    async list() {
        return (await this.scan()).entries;
    }
    /**
     * Removes least recently used entries until the archives fit the cap, and garbage: damaged
     * pointers, use records of missing entries, and temp files and unreferenced archives untouched
     * for the grace period. Returns the entries removed (or that would be, on a dry run).
     */
    async prune(options = {}) {
        const cap = options.maxBytes ?? this.maxBytes;
        const scan = await this.scan();
        const now = this.now();
        const stale = scan.entries.filter((entry) => options.maxAgeMs !== undefined && now - entry.lastUsedAt > options.maxAgeMs);
        const fresh = scan.entries.filter((entry) => !stale.includes(entry));
        const victims = [...stale, ...leastRecentlyUsedBeyondCap(fresh, cap)];
        if (options.dryRun)
            return victims;
        const evicted = [];
        for (const victim of victims) {
            if (await this.evict(victim))
                evicted.push(victim);
        }
        await this.removeGarbage(scan, new Set(evicted.map((entry) => entry.key)));
        return evicted;
    }
    // --- lookup ---
    async exactEntry(key) {
        const hash = keyHash(key);
        const pointer = await readPointer(this.pointerPath(hash), hash);
        if (!pointer || pointer.key !== key)
            return undefined;
        return this.intactEntry(hash, pointer);
    }
    /** For each prefix in order, the most recently created entry whose key starts with it. */
    async newestEntryByPrefix(prefixes) {
        // An empty prefix would match every entry, e.g. another service's checkpoint: never useful.
        const usable = prefixes.filter((prefix) => prefix.length > 0);
        if (usable.length === 0)
            return undefined;
        const byCreation = (await this.list()).sort((a, b) => b.createdAt - a.createdAt);
        for (const prefix of usable) {
            const match = byCreation.find((entry) => entry.key.startsWith(prefix));
            if (match)
                return match;
        }
        return undefined;
    }
    /**
     * Remembers that the entry was used, in its own small file so that the pointer (which a
     * concurrent save may be replacing) is never rewritten. Only a hint for pruning: a store a
     * reader may not write to still serves hits, so failures are ignored.
     */
    async recordUse(key) {
        const hash = keyHash(key);
        try {
            // Not synced: losing the hint in a crash only makes the entry look older.
            const temp = await writeTempFile(this.dir, String(this.now()), { durable: false });
            await promises_namespaceObject.rename(temp, this.useRecordPath(hash));
        }
        catch {
            // See above: the lookup has succeeded whether or not the hint is written.
        }
    }
    // --- save ---
    async publish(key, source, metadata) {
        await promises_namespaceObject.mkdir(this.dir, { recursive: true, mode: 0o700 });
        const hash = keyHash(key);
        const archive = `${hash}-${uniqueSuffix()}.tar`;
        const tempArchive = await copyIntoTempFile(this.dir, source);
        let tempPointer;
        try {
            const bytes = await fileSize(tempArchive);
            await promises_namespaceObject.rename(tempArchive, external_node_path_namespaceObject.join(this.dir, archive));
            // The archive's name must be on disk before any pointer that names it.
            await syncDirectory(this.dir);
            const createdAt = this.now();
            const pointer = {
                version: 1,
                key,
                archive,
                bytes,
                createdAt,
                lastUsedAt: createdAt,
                metadata
            };
            tempPointer = await writeTempFile(this.dir, JSON.stringify(pointer, null, 2), {
                durable: true
            });
            await this.refreshDisplacedArchive(hash, archive);
            await promises_namespaceObject.rename(tempPointer, this.pointerPath(hash));
            await syncDirectory(this.dir);
        }
        finally {
            await promises_namespaceObject.rm(tempArchive, { force: true });
            if (tempPointer)
                await promises_namespaceObject.rm(tempPointer, { force: true });
        }
    }
    /**
     * Touches the archive the pointer about to be replaced names, so that its grace period starts
     * now: a reader that got its path just before the replacement can still open it.
     */
    async refreshDisplacedArchive(hash, newArchive) {
        const current = await readPointer(this.pointerPath(hash), hash);
        if (!current || current.archive === newArchive)
            return;
        const now = new Date();
        await promises_namespaceObject.utimes(external_node_path_namespaceObject.join(this.dir, current.archive), now, now).catch(ignoreMissing);
    }
    // --- prune ---
    /** Removes an entry if its pointer still names the archive it had when the victim was chosen. */
    async evict(victim) {
        const hash = keyHash(victim.key);
        const archive = external_node_path_namespaceObject.basename(victim.archivePath);
        const removed = await this.removePointerIf(hash, async (p) => p?.archive === archive);
        if (removed)
            await this.removeArchiveAndUseRecord(hash, removed.pointer);
        return removed !== undefined;
    }
    async removeGarbage(scan, evictedKeys) {
        for (const hash of scan.damagedPointers) {
            await this.removePointerIf(hash, async (p) => !p || !(await this.intactEntry(hash, p)));
        }
        const liveHashes = new Set(scan.entries.filter((e) => !evictedKeys.has(e.key)).map((e) => keyHash(e.key)));
        for (const hash of scan.useRecords) {
            if (!liveHashes.has(hash))
                await promises_namespaceObject.rm(this.useRecordPath(hash), { force: true });
        }
        const referenced = new Set(scan.entries.map((entry) => external_node_path_namespaceObject.basename(entry.archivePath)));
        const unreferenced = scan.archives.filter((name) => !referenced.has(name));
        for (const name of [...unreferenced, ...scan.tempFiles]) {
            await removeIfUntouchedFor(external_node_path_namespaceObject.join(this.dir, name), GARBAGE_GRACE_MS);
        }
    }
    /**
     * Takes the pointer away by renaming it, then deletes it if `shouldRemove` still agrees. A
     * pointer that a concurrent save published after the caller looked is put back (unless an even
     * newer one has arrived), so pruning never deletes an entry it did not choose. Returns what was
     * removed (`pointer` undefined for a corrupt one), or undefined if nothing was.
     */
    async removePointerIf(hash, shouldRemove) {
        const taken = tempPath(this.dir);
        try {
            await promises_namespaceObject.rename(this.pointerPath(hash), taken);
        }
        catch (error) {
            if (isErrno(error, 'ENOENT', 'ENOTDIR'))
                return undefined;
            throw error;
        }
        try {
            // A temp file keeps its old time through the rename: freshen it, or a concurrent prune
            // would take it for a crashed writer's leftover.
            const now = new Date();
            await promises_namespaceObject.utimes(taken, now, now);
            const pointer = await readPointer(taken, hash);
            if (await shouldRemove(pointer))
                return { pointer };
            await promises_namespaceObject.link(taken, this.pointerPath(hash)).catch((error) => {
                if (!isErrno(error, 'EEXIST'))
                    throw error;
            });
            return undefined;
        }
        finally {
            await promises_namespaceObject.rm(taken, { force: true });
        }
    }
    async removeArchiveAndUseRecord(hash, pointer) {
        if (pointer)
            await promises_namespaceObject.rm(external_node_path_namespaceObject.join(this.dir, pointer.archive), { force: true });
        await promises_namespaceObject.rm(this.useRecordPath(hash), { force: true });
    }
    // --- reading the directory ---
    async scan() {
        const scan = {
            entries: [],
            damagedPointers: [],
            archives: [],
            useRecords: [],
            tempFiles: []
        };
        for (const name of await this.readDirectory()) {
            const pointerHash = POINTER_FILE.exec(name)?.[1];
            const useRecordHash = USE_RECORD_FILE.exec(name)?.[1];
            if (pointerHash) {
                const entry = await this.entryAt(pointerHash);
                if (entry)
                    scan.entries.push(entry);
                else
                    scan.damagedPointers.push(pointerHash);
            }
            else if (useRecordHash)
                scan.useRecords.push(useRecordHash);
            else if (ARCHIVE_FILE.test(name))
                scan.archives.push(name);
            else if (name.startsWith(TEMP_PREFIX))
                scan.tempFiles.push(name);
            // Anything else is not ours: left alone.
        }
        scan.entries.sort(byMostRecentUse);
        return scan;
    }
    /** The directory's file names; none when it does not exist (yet). */
    async readDirectory() {
        try {
            return await promises_namespaceObject.readdir(this.dir);
        }
        catch (error) {
            if (isErrno(error, 'ENOENT', 'ENOTDIR'))
                return [];
            throw new Error(`cannot read ${this.description}: ${reason(error)}`, { cause: error });
        }
    }
    async entryAt(hash) {
        const pointer = await readPointer(this.pointerPath(hash), hash);
        return pointer && this.intactEntry(hash, pointer);
    }
    /** The entry a pointer describes, if its archive is there with the size recorded. */
    async intactEntry(hash, pointer) {
        const archivePath = external_node_path_namespaceObject.join(this.dir, pointer.archive);
        const stats = await promises_namespaceObject.stat(archivePath).catch(ignoreMissing);
        if (!stats?.isFile() || stats.size !== pointer.bytes)
            return undefined;
        const lastUse = await readUseRecord(this.useRecordPath(hash));
        return {
            key: pointer.key,
            archivePath,
            bytes: pointer.bytes,
            createdAt: pointer.createdAt,
            lastUsedAt: Math.max(pointer.lastUsedAt, lastUse ?? 0),
            metadata: pointer.metadata
        };
    }
    pointerPath(hash) {
        return external_node_path_namespaceObject.join(this.dir, `${hash}.json`);
    }
    useRecordPath(hash) {
        return external_node_path_namespaceObject.join(this.dir, `${hash}.used`);
    }
}
/**
 * Where the command line keeps checkpoints by default: the XDG cache directory. A relative
 * XDG_CACHE_HOME is invalid by the XDG spec and ignored.
 */
function defaultStoreDir(env, home) {
    const xdgCache = env.XDG_CACHE_HOME;
    const cache = xdgCache && external_node_path_namespaceObject.isAbsolute(xdgCache) ? xdgCache : external_node_path_namespaceObject.join(home, '.cache');
    return external_node_path_namespaceObject.join(cache, 'warmstart', 'checkpoints');
}
function assertValidKey(key) {
    if (key.length === 0)
        throw new Error('checkpoint key is empty');
    if (key.length > MAX_KEY_LENGTH) {
        throw new Error(`checkpoint key is ${key.length} characters long, more than ${MAX_KEY_LENGTH}: ${key.slice(0, 40)}...`);
    }
}
/** Metadata must survive JSON unchanged, or the entry would read back as corrupt. */
function assertValidMetadata(metadata) {
    for (const [name, value] of Object.entries(metadata)) {
        if (typeof value === 'number' && !Number.isFinite(value)) {
            throw new Error(`checkpoint metadata ${name} is ${value}, which JSON cannot hold`);
        }
    }
}
/** File names are derived from the key so that any string can be a key. */
function keyHash(key) {
    return (0,external_node_crypto_namespaceObject.createHash)('sha256').update(key).digest('hex').slice(0, 32);
}
/** Unique across processes (pid) and within one (random). */
function uniqueSuffix() {
    return `${process.pid}-${(0,external_node_crypto_namespaceObject.randomBytes)(8).toString('hex')}`;
}
function tempPath(dir) {
    return external_node_path_namespaceObject.join(dir, `${TEMP_PREFIX}${uniqueSuffix()}`);
}
/** Copies `source` to a new temp file in `dir`, private, synced, with a fresh modification time. */
async function copyIntoTempFile(dir, source) {
    const temp = tempPath(dir);
    try {
        // FICLONE: a copy-on-write clone where the filesystem can (btrfs, xfs), else a plain copy.
        await promises_namespaceObject.copyFile(source, temp, external_node_fs_namespaceObject.constants.COPYFILE_FICLONE);
        const file = await promises_namespaceObject.open(temp, 'r+');
        try {
            // The archive holds service memory (passwords included): owner only.
            await file.chmod(0o600);
            // A fresh time keeps prune from taking the new archive for old garbage before it is named.
            const now = new Date();
            await file.utimes(now, now);
            await file.sync();
        }
        finally {
            await file.close();
        }
        return temp;
    }
    catch (error) {
        await promises_namespaceObject.rm(temp, { force: true });
        throw error;
    }
}
async function writeTempFile(dir, content, options) {
    const temp = tempPath(dir);
    const file = await promises_namespaceObject.open(temp, 'wx', 0o600);
    try {
        await file.writeFile(content, 'utf8');
        if (options.durable)
            await file.sync();
    }
    catch (error) {
        await file.close();
        await promises_namespaceObject.rm(temp, { force: true });
        throw error;
    }
    await file.close();
    return temp;
}
/** Makes renames in `dir` survive a crash. */
async function syncDirectory(dir) {
    const handle = await promises_namespaceObject.open(dir, 'r');
    try {
        await handle.sync();
    }
    finally {
        await handle.close();
    }
}
/** The pointer in `file`; undefined when it is missing or is not a valid pointer for `hash`. */
async function readPointer(file, hash) {
    const text = await promises_namespaceObject.readFile(file, 'utf8').catch(ignoreMissing);
    if (text === undefined)
        return undefined;
    try {
        return parsePointer(JSON.parse(text), hash);
    }
    catch {
        // Half-written by a crash before it was synced, or edited by hand: as good as absent.
        return undefined;
    }
}
function parsePointer(value, hash) {
    if (typeof value !== 'object' || value === null)
        return undefined;
    const p = value;
    const valid = p.version === 1 &&
        typeof p.key === 'string' &&
        keyHash(p.key) === hash &&
        typeof p.archive === 'string' &&
        // Also keeps a tampered pointer from naming a file outside the store.
        ARCHIVE_FILE.exec(p.archive)?.[1] === hash &&
        Number.isSafeInteger(p.bytes) &&
        p.bytes >= 0 &&
        Number.isFinite(p.createdAt) &&
        Number.isFinite(p.lastUsedAt) &&
        isEntryMetadata(p.metadata);
    return valid ? value : undefined;
}
function isEntryMetadata(value) {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
        return false;
    return Object.values(value).every((v) => ['string', 'number', 'boolean'].includes(typeof v));
}
async function readUseRecord(file) {
    const text = await promises_namespaceObject.readFile(file, 'utf8').catch(ignoreMissing);
    const time = Number(text);
    return text !== undefined && Number.isFinite(time) ? time : undefined;
}
async function fileSize(file) {
    return (await promises_namespaceObject.stat(file)).size;
}
/** The entries to drop, least recently used first, so that the rest fit in `cap` bytes. */
function leastRecentlyUsedBeyondCap(entries, cap) {
    const leastRecentFirst = [...entries].sort(byMostRecentUse).reverse();
    let total = entries.reduce((sum, entry) => sum + entry.bytes, 0);
    const victims = [];
    for (const entry of leastRecentFirst) {
        if (total <= cap)
            break;
        victims.push(entry);
        total -= entry.bytes;
    }
    return victims;
}
function byMostRecentUse(a, b) {
    return b.lastUsedAt - a.lastUsedAt || b.createdAt - a.createdAt || a.key.localeCompare(b.key);
}
/** Removes `file` unless it was modified within `graceMs`, by the real clock. */
async function removeIfUntouchedFor(file, graceMs) {
    const stats = await promises_namespaceObject.stat(file).catch(ignoreMissing);
    if (stats && Date.now() - stats.mtimeMs > graceMs)
        await promises_namespaceObject.rm(file, { force: true });
}
// Duck-typed rather than `instanceof Error`: errors from another realm (a vm context, as under
// jest) are not instances of this realm's Error.
function isErrno(error, ...codes) {
    const code = error?.code;
    return typeof code === 'string' && codes.includes(code);
}
/** For `.catch`: a missing file reads as undefined; every other error still throws. */
function ignoreMissing(error) {
    if (isErrno(error, 'ENOENT', 'ENOTDIR'))
        return undefined;
    throw error;
}
function reason(error) {
    const message = error?.message;
    return typeof message === 'string' ? message : String(error);
}

;// CONCATENATED MODULE: ./src/store/oci/artifact.ts
// A checkpoint as an OCI artifact, pure: the store's address (`oci://REGISTRY/REPOSITORY`), the
// tag a key is stored under, the image manifest that describes one checkpoint, and the choices
// lookup and prune make over the entries a registry lists. No I/O here (the registry is reached
// through registry-client.ts, the store is oci-registry.ts).
//
// One checkpoint = one OCI image manifest (image-spec 1.1, artifact guidance):
//   artifactType  application/vnd.warmstart.checkpoint.v1
//   config        the empty descriptor (application/vnd.oci.empty.v1+json, `{}`)
//   layers        one blob per archive part, in order; a blob's digest is the part's SHA-256
//                 from warmstart's manifest, so the registry checks every byte it is given
//   annotations   the key, warmstart's manifest (JSON), the creation time
//   tag           `warmstart-` + SHA-256 of the key (a tag holds 128 characters; a key up to 512)


const ARTIFACT_TYPE = 'application/vnd.warmstart.checkpoint.v1';
const PART_MEDIA_TYPE = 'application/vnd.warmstart.checkpoint.part.v1';
const MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const EMPTY_CONFIG = {
    mediaType: 'application/vnd.oci.empty.v1+json',
    digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
    size: 2
};
const EMPTY_CONFIG_BYTES = '{}';
const KEY_ANNOTATION = 'dev.warmstart.key';
const METADATA_ANNOTATION = 'dev.warmstart.metadata';
const CREATED_ANNOTATION = 'org.opencontainers.image.created';
const TAG_PREFIX = 'warmstart-';
// The distribution spec's grammar for repository names (path components, lower case).
const REPOSITORY = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const REGISTRY = /^(?:[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*|\[[0-9a-fA-F:]+\])(?::\d{1,5})?$/;
function isOciStore(text) {
    return text.startsWith('oci://');
}
/**
 * Parses `oci://REGISTRY/REPOSITORY`. Plain HTTP only for a registry on loopback (localhost,
 * 127.0.0.0/8, [::1]), as podman and docker allow without configuration; TLS everywhere else.
 */
function parseOciLocation(text) {
    const fail = (why) => {
        throw new Error(`store ${JSON.stringify(text)}: ${why}; expected oci://REGISTRY/REPOSITORY, e.g. oci://ghcr.io/OWNER/warmstart-checkpoints`);
    };
    if (!isOciStore(text))
        fail('not an oci:// address');
    const rest = text.slice('oci://'.length);
    const slash = rest.indexOf('/');
    if (slash <= 0)
        fail('no repository after the registry');
    const registry = rest.slice(0, slash);
    const repository = rest.slice(slash + 1);
    if (!REGISTRY.test(registry))
        fail(`${JSON.stringify(registry)} is not a registry host[:port]`);
    if (!REPOSITORY.test(repository)) {
        fail(`${JSON.stringify(repository)} is not a repository name (lower case, a-z 0-9 . _ - /)`);
    }
    if (repository.includes(':') || repository.includes('@'))
        fail('a tag or digest is not wanted');
    const host = registry.replace(/:\d+$/, '');
    const loopback = host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '[::1]';
    return { registry, repository, baseUrl: `${loopback ? 'http' : 'https'}://${registry}` };
}
function tagForKey(key) {
    return TAG_PREFIX + (0,external_node_crypto_namespaceObject.createHash)('sha256').update(key).digest('hex');
}
function isWarmstartTag(tag) {
    return /^warmstart-[0-9a-f]{64}$/.test(tag);
}
function partDigest(part) {
    return `sha256:${part.sha256}`;
}
/** The manifest of one checkpoint: its parts as layers, the key and warmstart's manifest. */
function buildArtifactManifest(key, metadata, parts, createdAt) {
    return {
        schemaVersion: 2,
        mediaType: MANIFEST_MEDIA_TYPE,
        artifactType: ARTIFACT_TYPE,
        config: { ...EMPTY_CONFIG },
        layers: parts.map((part) => ({
            mediaType: PART_MEDIA_TYPE,
            digest: partDigest(part),
            size: part.bytes
        })),
        annotations: {
            [KEY_ANNOTATION]: key,
            [METADATA_ANNOTATION]: JSON.stringify(metadata),
            [CREATED_ANNOTATION]: createdAt.toISOString()
        }
    };
}
/**
 * Reads a manifest the registry returned for `tag`, checking that it is warmstart's, that it was
 * stored under that tag's key, and that its layers are exactly the parts its metadata lists (so
 * that what is downloaded is what the checks after it describe). Throws saying what is wrong.
 */
function readArtifactManifest(body, tag, digest) {
    let manifest;
    try {
        manifest = JSON.parse(body);
    }
    catch {
        throw new Error(`the manifest of ${tag} is not JSON`);
    }
    if (manifest.artifactType !== ARTIFACT_TYPE) {
        throw new Error(`${tag} is not a warmstart checkpoint (artifactType ${JSON.stringify(manifest.artifactType ?? null)})`);
    }
    const annotations = manifest.annotations ?? {};
    const key = annotations[KEY_ANNOTATION];
    if (typeof key !== 'string' || tagForKey(key) !== tag) {
        throw new Error(`the key annotation of ${tag} does not match its tag`);
    }
    let metadata;
    try {
        metadata = JSON.parse(annotations[METADATA_ANNOTATION] ?? '');
    }
    catch {
        throw new Error(`the metadata annotation of ${tag} is not JSON`);
    }
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
        throw new Error(`the metadata annotation of ${tag} is not an object`);
    }
    const bytes = Number(metadata.bytes);
    const parts = decodeParts(metadata.parts, bytes);
    const layers = manifest.layers ?? [];
    const matches = layers.length === parts.length &&
        parts.every((part, i) => layers[i]?.digest === partDigest(part) &&
            layers[i]?.size === part.bytes &&
            layers[i]?.mediaType === PART_MEDIA_TYPE);
    if (!matches)
        throw new Error(`the layers of ${tag} are not the parts its metadata lists`);
    const createdAt = Date.parse(annotations[CREATED_ANNOTATION] ?? '');
    return {
        key,
        tag,
        digest,
        metadata,
        parts,
        bytes,
        createdAt: Number.isFinite(createdAt) ? createdAt : 0
    };
}
/** For each prefix in order, the newest entry whose key starts with it (as the other stores). */
function newestByPrefix(entries, prefixes) {
    const byCreation = [...entries].sort((a, b) => b.createdAt - a.createdAt);
    for (const prefix of prefixes.filter((p) => p.length > 0)) {
        const match = byCreation.find((entry) => entry.key.startsWith(prefix));
        if (match)
            return match;
    }
    return undefined;
}
/** What prune removes: every entry older than the age, then the oldest beyond the size. */
function pruneVictims(entries, rule) {
    const newestFirst = [...entries].sort((a, b) => b.createdAt - a.createdAt);
    const victims = [];
    let kept = 0;
    for (const entry of newestFirst) {
        const tooOld = rule.maxAgeMs !== undefined && rule.now - entry.createdAt > rule.maxAgeMs;
        const tooBig = rule.maxBytes !== undefined && kept + entry.bytes > rule.maxBytes;
        if (tooOld || tooBig)
            victims.push(entry);
        else
            kept += entry.bytes;
    }
    return victims;
}

;// CONCATENATED MODULE: ./src/store/oci/credentials.ts
// Registry credentials from where the container ecosystem keeps them: the auth file `podman
// login` writes (REGISTRY_AUTH_FILE, else ${XDG_RUNTIME_DIR}/containers/auth.json), the one
// skopeo and buildah also read (~/.config/containers/auth.json), and docker's
// (${DOCKER_CONFIG:-~/.docker}/config.json), in the order containers-auth.json(5) reads them.
// The Action may pass a token instead (its `registry-token` input). Credentials are never
// logged: nothing here formats them into a message.


/** The auth files to read, first found first; `REGISTRY_AUTH_FILE` alone when it is set. */
function authFilePaths(env, home) {
    if (env.REGISTRY_AUTH_FILE)
        return [env.REGISTRY_AUTH_FILE];
    const paths = [];
    if (env.XDG_RUNTIME_DIR)
        paths.push((0,external_node_path_namespaceObject.join)(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
    paths.push((0,external_node_path_namespaceObject.join)(home, '.config', 'containers', 'auth.json'));
    paths.push((0,external_node_path_namespaceObject.join)(env.DOCKER_CONFIG || (0,external_node_path_namespaceObject.join)(home, '.docker'), 'config.json'));
    return paths;
}
/**
 * The credentials an auth file holds for `registry` (host[:port]): `auths[registry].auth` is
 * base64 of `user:password`. Entries may also be filed under `registry/repository` (the most
 * specific wins, as in containers-auth.json(5)) or, in docker's files, as a URL.
 */
function credentialsIn(text, registry, repository) {
    let auths;
    try {
        auths = JSON.parse(text).auths ?? {};
    }
    catch {
        return undefined;
    }
    const components = repository.split('/');
    const scopes = components.map((_, i) => `${registry}/${components.slice(0, components.length - i).join('/')}`);
    const candidates = [...scopes, registry, `https://${registry}`, `http://${registry}`];
    for (const candidate of candidates) {
        const encoded = auths[candidate]?.auth;
        if (!encoded)
            continue;
        const decoded = Buffer.from(encoded, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon > 0)
            return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    return undefined;
}
/** The first credentials filed for the registry in the auth files; undefined when none are. */
function readCredentials(registry, repository, env, home) {
    for (const path of authFilePaths(env, home)) {
        let text;
        try {
            text = (0,external_node_fs_namespaceObject.readFileSync)(path, 'utf8');
        }
        catch {
            continue; // absent or unreadable: the next file
        }
        const found = credentialsIn(text, registry, repository);
        if (found)
            return found;
    }
    return undefined;
}
/**
 * The credentials the Action sends: its `registry-token` input as the password of GITHUB_ACTOR
 * (GHCR takes any user name with a GITHUB_TOKEN), else what the runner user logged in with.
 */
function actionCredentials(registry, repository, token, env, home) {
    if (token)
        return { username: env.GITHUB_ACTOR || 'warmstart', password: token };
    return readCredentials(registry, repository, env, home);
}

;// CONCATENATED MODULE: ./src/store/oci/registry-client.ts
// The OCI distribution API, the few calls the registry store needs, over Node's own fetch.
//
// Why HTTP here rather than skopeo or oras: the warm path reads each part's blob from the
// registry while it is written to its place in the archive, side by side, and the cold path
// pushes each part straight from its byte range in the one archive file. skopeo copies images,
// not artifacts of arbitrary blobs (and needs each blob as a file or a layout on disk); oras
// needs one file per blob and is on neither GitHub's runners nor Debian 12. The calls below are
// the distribution spec's (https://github.com/opencontainers/distribution-spec/blob/main/spec.md):
// blobs (HEAD, GET, POST + PUT monolithic upload), manifests (GET, PUT, DELETE), tags/list.
//
// Authentication follows the registry's 401 challenge: Basic (a registry with htpasswd) or a
// Bearer token fetched from the challenge's realm (GHCR, Docker Hub, Harbor, distribution with a
// token server), with the credentials given, else anonymously. Credentials and tokens never
// appear in an error message.


/** A registry answered with an HTTP status warmstart did not expect. */
class RegistryError extends Error {
    status;
    code;
    constructor(message, status, code) {
        super(message);
        this.status = status;
        this.code = code;
        this.name = 'RegistryError';
    }
}
class RegistryClient {
    location;
    credentials;
    timeoutMs;
    /** The Authorization header that last worked (Basic, or a Bearer token for a scope). */
    authorization;
    constructor(options) {
        this.location = options.location;
        this.credentials = options.credentials;
        this.timeoutMs = (options.requestTimeoutSeconds ?? 60) * 1000;
    }
    get where() {
        return `${this.location.registry}/${this.location.repository}`;
    }
    async blobExists(digest) {
        const response = await this.request('HEAD', `blobs/${digest}`, { ok: [200, 404] });
        return response.status === 200;
    }
    /** The blob's bytes as a stream; the caller checks them against the digest. */
    async blobStream(digest) {
        const response = await this.request('GET', `blobs/${digest}`, { ok: [200], stream: true });
        if (!response.body)
            throw new RegistryError(`blob ${digest}: an empty answer`, response.status);
        return external_node_stream_namespaceObject.Readable.fromWeb(response.body);
    }
    /**
     * Uploads one blob in a single PUT (POST opens the upload, PUT sends every byte and names the
     * digest, which the registry checks). `body` makes a fresh stream of the bytes.
     */
    async pushBlob(digest, size, body) {
        const opened = await this.request('POST', 'blobs/uploads/', { ok: [202] });
        const location = opened.headers.get('location');
        if (!location)
            throw new RegistryError('blob upload: no Location in the answer', 202);
        const url = new URL(location, this.location.baseUrl);
        url.searchParams.set('digest', digest);
        await this.request('PUT', url, {
            ok: [201],
            body,
            headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
            stream: true
        });
    }
    /** The manifest under a tag or digest, with the digest of its bytes; undefined when absent. */
    async getManifest(reference, accept) {
        const response = await this.request('GET', `manifests/${reference}`, {
            ok: [200, 404],
            headers: { accept }
        });
        if (response.status === 404)
            return undefined;
        const body = await response.text();
        return { body, digest: `sha256:${(0,external_node_crypto_namespaceObject.createHash)('sha256').update(body).digest('hex')}` };
    }
    /** Stores a manifest under a tag; resolves with its digest. */
    async putManifest(tag, mediaType, body) {
        await this.request('PUT', `manifests/${tag}`, {
            ok: [201],
            body: () => body,
            headers: { 'content-type': mediaType }
        });
        return `sha256:${(0,external_node_crypto_namespaceObject.createHash)('sha256').update(body).digest('hex')}`;
    }
    /**
     * Deletes a manifest by digest (every tag on it goes too). False when the registry does not
     * allow deletes (405, or distribution's UNSUPPORTED), or it is gone already.
     */
    async deleteManifest(digest) {
        const response = await this.request('DELETE', `manifests/${digest}`, { ok: [202, 404, 405] });
        return response.status === 202;
    }
    /** Every tag of the repository (following the Link header's pages); none when it is new. */
    async listTags() {
        const tags = [];
        let next = 'tags/list?n=1000';
        while (next) {
            const response = await this.request('GET', next, { ok: [200, 404] });
            if (response.status === 404)
                return tags;
            const page = (await response.json());
            tags.push(...(page.tags ?? []));
            const link = /<([^>]+)>;\s*rel="?next"?/.exec(response.headers.get('link') ?? '')?.[1];
            next = link ? new URL(link, this.location.baseUrl) : undefined;
        }
        return tags;
    }
    /**
     * One call to the API, authenticating on a 401 challenge and trying once more. A status
     * outside `ok` is a RegistryError naming the registry's error code.
     */
    async request(method, path, options) {
        const url = path instanceof URL
            ? path
            : new URL(`/v2/${this.location.repository}/${path}`, this.location.baseUrl);
        const what = `${method} ${url.pathname}`;
        let used;
        const send = () => {
            const headers = { ...options.headers };
            used = this.authorization;
            if (used)
                headers.authorization = used;
            const body = options.body?.();
            return fetch(url, {
                method,
                headers,
                body,
                // A stream body must say so; a blob may take longer than any fixed limit.
                ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
                ...(options.stream ? {} : { signal: AbortSignal.timeout(this.timeoutMs) })
            }).catch((error) => {
                throw new RegistryError(`${this.location.registry} is unreachable (${what}): ${causeOf(error)}`, 0);
            });
        };
        let response = await send();
        if (response.status === 401) {
            const challenge = parseChallenge(response.headers.get('www-authenticate') ?? '');
            await response.body?.cancel();
            const authorization = await this.authorize(challenge);
            // Requests run side by side: another may have authenticated meanwhile. Try once more
            // whenever this one went without what is now known to work.
            if (authorization && authorization !== used) {
                this.authorization = authorization;
                response = await send();
            }
        }
        if (!options.ok.includes(response.status)) {
            const detail = await errorDetail(response);
            if (response.status === 401 || response.status === 403) {
                throw new RegistryError(`${this.where}: access denied (${what}: ${response.status}${detail.text}); ${this.credentials
                    ? 'the credentials given were refused or lack this permission'
                    : 'no credentials were found for it: log in with `podman login ' +
                        this.location.registry +
                        '` (or docker login), set REGISTRY_AUTH_FILE, or in the Action pass `registry-token`'}`, response.status, detail.code);
            }
            throw new RegistryError(`${this.where}: ${what} answered ${response.status}${detail.text}`, response.status, detail.code);
        }
        return response;
    }
    /** The Authorization header a challenge asks for, or undefined when none can be made. */
    async authorize(challenge) {
        if (!challenge)
            return undefined;
        const basic = this.credentials
            ? `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`
            : undefined;
        if (challenge.scheme === 'basic')
            return basic;
        if (challenge.scheme !== 'bearer' || !challenge.params.realm)
            return undefined;
        const realm = new URL(challenge.params.realm);
        if (challenge.params.service)
            realm.searchParams.set('service', challenge.params.service);
        realm.searchParams.set('scope', challenge.params.scope ?? `repository:${this.location.repository}:pull,push`);
        const response = await fetch(realm, {
            headers: basic ? { authorization: basic } : {},
            signal: AbortSignal.timeout(this.timeoutMs)
        }).catch((error) => {
            throw new RegistryError(`${this.location.registry}: its token service ${realm.host} is unreachable: ${causeOf(error)}`, 0);
        });
        if (!response.ok) {
            await response.body?.cancel();
            throw new RegistryError(`${this.where}: the token service refused ${basic ? 'the credentials' : 'an anonymous token'} (${response.status})`, response.status);
        }
        const answer = (await response.json());
        const token = answer.token ?? answer.access_token;
        return token ? `Bearer ${token}` : undefined;
    }
}
/** `Bearer realm="...",service="...",scope="..."` or `Basic realm="..."`. */
function parseChallenge(header) {
    const match = /^\s*(\w+)\s*(.*)$/.exec(header);
    if (!match)
        return undefined;
    const params = {};
    for (const param of (match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) {
        params[param[1].toLowerCase()] = param[2];
    }
    return { scheme: match[1].toLowerCase(), params };
}
async function errorDetail(response) {
    if (response.status === 0 || response.headers.get('content-length') === '0') {
        await response.body?.cancel();
        return { text: '' };
    }
    const text = await response.text().catch(() => '');
    try {
        const first = JSON.parse(text)
            .errors?.[0];
        if (first?.code)
            return { text: ` ${first.code}: ${first.message ?? ''}`.trimEnd(), code: first.code };
    }
    catch {
        // not the distribution spec's error body
    }
    return { text: '' };
}
function causeOf(error) {
    const cause = error.cause;
    return cause?.code ?? cause?.message ?? error.message;
}

;// CONCATENATED MODULE: ./src/store/oci-registry.ts
// Checkpoints in an OCI registry (`oci://REGISTRY/REPOSITORY`): GHCR, Harbor, ECR, Artifact
// Registry, the open-source distribution registry. One checkpoint is one artifact (see
// oci/artifact.ts for its shape): its parts are blobs, so a push sends only the parts the
// registry does not have yet, and the registry checks every byte against the digest it is told.
//
// Saving pushes every blob first and the manifest last, under the key's tag: a reader sees the
// old entry or the new one, never a mix, and two jobs saving the same key at once leave one
// complete entry (the last manifest written). A lookup reads the manifest and checks that every
// blob is there (a missing one is a miss with a warning); the restore then reads each part
// straight from its blob into its unpack pipeline, side by side, nothing written to disk first
// (the Actions cache cannot do that: it downloads, then untars). Every blob's bytes are hashed
// as they stream by: a blob that does not match its digest fails the restore, which starts cold.







/** How many blobs move at once: the parts of one archive are few, and each is one stream. */
const PARALLEL_BLOBS = 4;
/** How many manifests `list` reads at once. */
const PARALLEL_MANIFESTS = 8;
class OciRegistryStore {
    description;
    client;
    now;
    constructor(options) {
        const { registry, repository } = options.location;
        this.description = `the OCI registry ${registry}/${repository}`;
        this.client = new RegistryClient({
            location: options.location,
            credentials: options.credentials
        });
        this.now = options.now ?? Date.now;
    }
    async lookup(key, restoreKeys = []) {
        const entry = (await this.entryUnder(tagForKey(key))) ??
            (restoreKeys.some((prefix) => prefix.length > 0)
                ? newestByPrefix(await this.entries(), restoreKeys)
                : undefined);
        if (!entry)
            return undefined;
        // A blob gone (garbage-collected, deleted) is a miss here rather than a failed restore later.
        await inBatches(entry.parts, PARALLEL_BLOBS, async (part) => {
            if (!(await this.client.blobExists(partDigest(part)))) {
                throw new Error(`${entry.tag} (${entry.key}) lacks its blob ${partDigest(part)}`);
            }
        });
        return {
            key: entry.key,
            bytes: entry.bytes,
            metadata: entry.metadata,
            source: this.partsOf(entry)
        };
    }
    async save(key, archivePath, metadata) {
        const bytes = (await promises_namespaceObject.stat(archivePath)).size;
        const parts = decodeParts(metadata.parts, bytes);
        await inBatches(parts, PARALLEL_BLOBS, (part) => this.pushPart(archivePath, part));
        if (!(await this.client.blobExists(EMPTY_CONFIG.digest))) {
            await this.client.pushBlob(EMPTY_CONFIG.digest, EMPTY_CONFIG.size, () => EMPTY_CONFIG_BYTES);
        }
        // Last: until the tag names this manifest, readers see the entry stored before, if any.
        const manifest = buildArtifactManifest(key, metadata, parts, new Date(this.now()));
        await this.client.putManifest(tagForKey(key), MANIFEST_MEDIA_TYPE, JSON.stringify(manifest));
        return { saved: true, bytes };
    }
    /**
     * Leaves the entry: a restore that failed here may have failed on the network's account, and
     * deleting a good checkpoint for that would cost every later job a cold start. The next save
     * under the key replaces its manifest; a blob the registry serves wrong stays wrong until it
     * is removed there (the restore's warning names it and says so).
     */
    async discard() { }
    /** Every warmstart checkpoint in the repository, newest first. */
    async list() {
        return (await this.entries()).sort((a, b) => b.createdAt - a.createdAt).map(listed);
    }
    /**
     * Removes entries older than `maxAgeMs`, then the oldest beyond `maxBytes`, by deleting their
     * manifests (the registry's garbage collection frees the blobs). A registry that does not
     * allow deletes is an error that says how to allow them.
     */
    async prune(options) {
        const victims = pruneVictims(await this.entries(), { ...options, now: this.now() });
        if (options.dryRun)
            return victims.map(listed);
        const removed = [];
        for (const victim of victims) {
            if (!(await this.client.deleteManifest(victim.digest))) {
                throw new Error(`${this.description} did not delete ${victim.tag} (${victim.key}): it does not allow deletes (distribution: REGISTRY_STORAGE_DELETE_ENABLED=true; GHCR: delete package versions with a token that has delete:packages)`);
            }
            removed.push(listed(victim));
        }
        return removed;
    }
    // --- reading ---
    async entryUnder(tag) {
        const found = await this.client.getManifest(tag, MANIFEST_MEDIA_TYPE);
        return found ? readArtifactManifest(found.body, tag, found.digest) : undefined;
    }
    /** Every readable warmstart entry; a manifest that is not one of warmstart's is skipped. */
    async entries() {
        const tags = (await this.client.listTags()).filter(isWarmstartTag);
        const entries = [];
        await inBatches(tags, PARALLEL_MANIFESTS, async (tag) => {
            try {
                const entry = await this.entryUnder(tag);
                if (entry)
                    entries.push(entry);
            }
            catch {
                // Not warmstart's, or damaged: neither a restore-keys candidate nor ours to prune.
            }
        });
        return entries;
    }
    /**
     * The entry's archive, read part by part from the parts' blobs: each read is one GET of a
     * whole blob, streamed, hashed as it goes by and failed at its end when it is not its digest.
     */
    partsOf(entry) {
        return {
            bytes: entry.bytes,
            read: (range) => {
                const part = entry.parts.find((p) => p.offset === range?.offset && p.bytes === range.bytes);
                if (!part) {
                    const what = range ? `bytes ${range.offset}+${range.bytes}` : 'the whole archive';
                    return external_node_stream_namespaceObject.Readable.from([]).destroy(new Error(`${what} is not one part of ${entry.tag}`));
                }
                const check = new DigestCheck(part, this.description);
                this.client.blobStream(partDigest(part)).then((blob) => {
                    blob.once('error', (error) => check.destroy(error));
                    blob.pipe(check);
                }, (error) => check.destroy(error));
                return check;
            }
        };
    }
    // --- writing ---
    async pushPart(archivePath, part) {
        const digest = partDigest(part);
        if (await this.client.blobExists(digest))
            return;
        await this.client.pushBlob(digest, part.bytes, () => external_node_stream_namespaceObject.Readable.toWeb((0,external_node_fs_namespaceObject.createReadStream)(archivePath, { start: part.offset, end: part.offset + part.bytes - 1 })));
    }
}
/**
 * Counts and hashes a part's bytes as they pass; fails on more bytes than the part has, and at
 * the end when they were fewer or are not its digest.
 */
class DigestCheck extends external_node_stream_namespaceObject.Transform {
    part;
    where;
    hash = (0,external_node_crypto_namespaceObject.createHash)('sha256');
    seen = 0;
    constructor(part, where) {
        super();
        this.part = part;
        this.where = where;
    }
    _transform(chunk, _encoding, done) {
        this.seen += chunk.length;
        if (this.seen > this.part.bytes) {
            done(new Error(`blob ${partDigest(this.part)} is longer than its ${this.part.bytes} bytes`));
            return;
        }
        this.hash.update(chunk);
        done(undefined, chunk);
    }
    _flush(done) {
        const digest = partDigest(this.part);
        if (this.seen !== this.part.bytes) {
            done(new Error(`blob ${digest} ended after ${this.seen} of its ${this.part.bytes} bytes`));
            return;
        }
        const actual = `sha256:${this.hash.digest('hex')}`;
        if (actual !== digest) {
            done(new Error(`blob ${digest} from ${this.where} does not match its digest (its bytes hash to ${actual}): the registry's storage is damaged or was tampered with; delete the blob there (or the repository) so that the next cold run can push it again`));
            return;
        }
        done();
    }
}
function listed(entry) {
    const { key, bytes, createdAt, tag, digest } = entry;
    return { key, bytes, createdAt, tag, digest };
}
/** Runs `work` over the items, at most `limit` at a time; rejects with the first failure. */
async function inBatches(items, limit, work) {
    let next = 0;
    const worker = async () => {
        while (next < items.length) {
            const item = items[next++];
            await work(item);
        }
    };
    const settled = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
    const failed = settled.find((result) => result.status === 'rejected');
    if (failed)
        throw failed.reason;
}

;// CONCATENATED MODULE: ./src/cli/help.ts
// The command line's help texts: every flag, with an example.
const spec = `Service (the names of the action's inputs; a --spec file uses the same names as JSON fields,
with ports, env and options as arrays of strings):
  --spec FILE            read the service from a JSON file; flags override its fields
  --image IMAGE          container image (required)
  --name NAME            container name (default: warmstart-<image name>)
  --ports HOST:CONTAINER publish a port; repeat for more (e.g. --ports 15432:5432)
  --env NAME=VALUE       service environment; repeat for more (values are never printed)
  --options=OPTION       extra podman run option; repeat (e.g. --options=--shm-size=256m)
  --command "CMD ARGS"   replace the image's command
  --ready PROBE          tcp://HOST:PORT, http(s)://URL (2xx), exec:CMD (in the container) or
                         cmd:CMD (on the host); default: TCP on the first published port
  --ready-timeout SECS   how long to wait for the probe (default 120)
  --warmup "CMD"         host shell command run once the service is ready on a cold start; it
                         sees WARMSTART_CONTAINER, WARMSTART_HOST, WARMSTART_PORT and
                         WARMSTART_PORT_<container port>
  --key TEXT             your part of the cache key (e.g. a hash of your migrations)
  --restore-keys PREFIX  an older key to fall back on (prefix match); repeat for more; needs
                         --refresh
  --refresh "CMD"        host shell command that brings a checkpoint found by --restore-keys
                         up to date (e.g. apply only new migrations); then it is saved under --key
  --no-file-locks        do not checkpoint file locks (on by default; MariaDB needs them)
  --tcp-established      checkpoint open TCP connections too
  --volume-storage WHERE where a warm restore puts the service's volumes: auto (in memory when
                         they fit in a quarter of the host's memory), memory or disk
  --criu-timeout SECS    time limit of one checkpoint or restore, after which it is stopped and
                         the service starts cold (default auto: 10 min for a checkpoint, 2 min
                         plus 1 min per GiB of archive for a restore)`;
const storeHelp = `  --store STORE the checkpoint store: a directory (default: $XDG_CACHE_HOME/warmstart/checkpoints
                or ~/.cache/warmstart/checkpoints), or an OCI registry, oci://REGISTRY/REPOSITORY
                (credentials from podman login / docker login, or REGISTRY_AUTH_FILE)`;
const HELP = {
    main: `warmstart: start database-backed test services warm.

Usage: warmstart COMMAND [OPTIONS]

Commands:
  up      start a service: restore it from its checkpoint, or start it cold, warm it up and
          checkpoint it for next time
  down    remove a service's container
  ls      list the checkpoints in a store
  prune   remove old or least recently used checkpoints
  key     print the cache key of a service without starting anything

Run warmstart COMMAND --help for its options.

Exit codes: 0 success; 1 the service could not be started (or another failure); 2 bad usage or
spec; when the warm-up fails, its own exit code.`,
    up: `Usage: warmstart up [SERVICE OPTIONS] [--store STORE] [--json] [--replace] [-v]

${spec}

Other options:
${storeHelp}
  --json        print the outputs as JSON on stdout (progress stays on stderr)
  --replace     remove a container of the same name first
  -v, --verbose debug lines: podman commands, cache key components

Example:
  warmstart up --image localhost/warmstart/redis:7 --name cache --ports 16379:6379 \\
    --warmup 'redis-cli -p $WARMSTART_PORT debug populate 100000'`,
    key: `Usage: warmstart key [SERVICE OPTIONS] [--json] [--explain]

Prints the cache key up would use, without starting anything (the image must be present).
${spec}

  --json      print {"cache-key": ...}
  --explain   print every component of the key and its value

Example:
  warmstart key --spec postgres.json --explain`,
    down: `Usage: warmstart down NAME

Removes the container NAME, running or not (the checkpoints stay in the store).

Example:
  warmstart down warmstart-postgres`,
    ls: `Usage: warmstart ls [--store STORE] [--json]

Lists the checkpoints in a store: a local directory's most recently used first, a registry's
newest first.
${storeHelp}

Example:
  warmstart ls --json`,
    prune: `Usage: warmstart prune [--store STORE] [--max-age AGE] [--max-size SIZE | --all] [--dry-run] [--json]

Removes the checkpoints unused (a local directory) or created (a registry) longer ago than AGE,
then the least recently used (registry: the oldest) until the store holds at most SIZE (a local
directory: 10G unless given). A registry must allow deletes; its garbage collection frees the
blobs.
  --max-age AGE     e.g. 12h, 7d, 4w
  --max-size SIZE   e.g. 500M, 10G
  --all             remove every checkpoint
  --dry-run         only say what would be removed
${storeHelp}

Examples:
  warmstart prune --max-size 2G
  warmstart prune --store oci://ghcr.io/acme/warmstart-checkpoints --max-age 14d`
};

;// CONCATENATED MODULE: external "node:util"
const external_node_util_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:util");
;// CONCATENATED MODULE: ./src/cli/parse.ts
// Command-line parsing, pure: argv in, a command to run out (or a usage error). The flags carry
// the spec fields' names, which are the action inputs' names.


class UsageError extends Error {
    constructor(message) {
        super(message);
        this.name = 'UsageError';
    }
}
const specOptions = {
    spec: { type: 'string' },
    image: { type: 'string' },
    name: { type: 'string' },
    ports: { type: 'string', multiple: true },
    env: { type: 'string', multiple: true },
    options: { type: 'string', multiple: true },
    command: { type: 'string' },
    ready: { type: 'string' },
    'ready-timeout': { type: 'string' },
    warmup: { type: 'string' },
    key: { type: 'string' },
    'restore-keys': { type: 'string', multiple: true },
    refresh: { type: 'string' },
    'file-locks': { type: 'boolean' },
    'no-file-locks': { type: 'boolean' },
    'tcp-established': { type: 'boolean' },
    'volume-storage': { type: 'string' },
    'criu-timeout': { type: 'string' }
};
const common = {
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false }
};
function parseCommand(argv) {
    const [name, ...rest] = argv;
    if (!name || name === 'help' || name === '--help' || name === '-h')
        return { name: 'help', topic: rest[0] };
    if (name === '--version' || name === 'version')
        return { name: 'version' };
    switch (name) {
        case 'up': {
            const values = parse(rest, {
                ...specOptions,
                ...common,
                store: { type: 'string' },
                replace: { type: 'boolean', default: false },
                verbose: { type: 'boolean', short: 'v', default: false }
            }, 0);
            if (values.help)
                return { name: 'help', topic: 'up' };
            return {
                name: 'up',
                spec: rawSpec(values),
                specFile: values.spec,
                store: values.store,
                json: values.json === true,
                replace: values.replace === true,
                verbose: values.verbose === true
            };
        }
        case 'key': {
            const values = parse(rest, { ...specOptions, ...common, explain: { type: 'boolean', default: false } }, 0);
            if (values.help)
                return { name: 'help', topic: 'key' };
            return {
                name: 'key',
                spec: rawSpec(values),
                specFile: values.spec,
                json: values.json === true,
                explain: values.explain === true
            };
        }
        case 'down': {
            const { values, positionals } = parseWithPositionals(rest, common);
            if (values.help)
                return { name: 'help', topic: 'down' };
            if (positionals.length !== 1)
                throw new UsageError('down takes one container name: warmstart down NAME');
            return { name: 'down', container: positionals[0] };
        }
        case 'ls': {
            const values = parse(rest, { ...common, store: { type: 'string' } }, 0);
            if (values.help)
                return { name: 'help', topic: 'ls' };
            return { name: 'ls', store: values.store, json: values.json === true };
        }
        case 'prune': {
            const values = parse(rest, {
                ...common,
                store: { type: 'string' },
                'max-size': { type: 'string' },
                'max-age': { type: 'string' },
                all: { type: 'boolean', default: false },
                'dry-run': { type: 'boolean', default: false }
            }, 0);
            if (values.help)
                return { name: 'help', topic: 'prune' };
            const maxSize = values['max-size'] === undefined ? undefined : parse_parseSize(values['max-size']);
            return {
                name: 'prune',
                store: values.store,
                maxSize,
                maxAgeMs: values['max-age'] === undefined ? undefined : parseAge(values['max-age']),
                all: values.all === true,
                dryRun: values['dry-run'] === true,
                json: values.json === true
            };
        }
        default:
            throw new UsageError(`unknown command "${name}"; commands: up, down, ls, prune, key (warmstart --help)`);
    }
}
/** `10G`, `500M`, `2048` (bytes) -> bytes. */
function parse_parseSize(text) {
    const match = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim());
    if (!match)
        throw new UsageError(`--max-size: "${text}" is not a size such as 500M or 10G`);
    const power = ' KMGT'.indexOf((match[2] || ' ').toUpperCase());
    return Math.round(Number(match[1]) * 1024 ** power);
}
/** `7d`, `12h`, `30m`, `90s` -> milliseconds. */
function parseAge(text) {
    const match = /^(\d+(?:\.\d+)?)\s*([smhdw])$/i.exec(text.trim());
    if (!match)
        throw new UsageError(`--max-age: "${text}" is not an age such as 12h or 7d`);
    const unit = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[match[2].toLowerCase()];
    return Math.round(Number(match[1]) * unit * 1000);
}
function parse(args, options, positionals) {
    const parsed = parseWithPositionals(args, options);
    if (parsed.positionals.length > positionals) {
        throw new UsageError(`unexpected argument "${parsed.positionals[positionals]}" (an option value that starts with -- is written --options=--flag=value)`);
    }
    return parsed.values;
}
function parseWithPositionals(args, options) {
    try {
        const { values, positionals } = (0,external_node_util_namespaceObject.parseArgs)({
            args,
            options,
            strict: true,
            allowPositionals: true
        });
        return { values: values, positionals };
    }
    catch (error) {
        throw new UsageError(error.message.replace(/^Unknown option/, 'unknown option'));
    }
}
/** The spec fields given as flags; a spec file's fields are overridden by them. */
function rawSpec(values) {
    const spec = {};
    // The booleans have --flag / --no-flag forms, handled below.
    for (const field of SPEC_FIELDS.filter((name) => name !== 'file-locks' && name !== 'tcp-established')) {
        if (values[field] !== undefined)
            spec[field] = values[field];
    }
    if (values['file-locks'] && values['no-file-locks'])
        throw new UsageError('--file-locks and --no-file-locks contradict each other');
    if (values['file-locks'])
        spec['file-locks'] = true;
    if (values['no-file-locks'])
        spec['file-locks'] = false;
    if (values['tcp-established'])
        spec['tcp-established'] = true;
    return spec;
}

;// CONCATENATED MODULE: ./src/outputs.ts
const OUTPUTS = (/* unused pure expression or super */ null && ([
    'cache-hit',
    'restored',
    'container-id',
    'container-name',
    'cache-key',
    'startup-seconds',
    'checkpoint-bytes',
    'checkpoint-failed'
]));
function outputsOf(result) {
    return {
        'cache-hit': result.cacheHit,
        restored: result.restored,
        'container-id': result.containerId,
        'container-name': result.containerName,
        'cache-key': result.cacheKey,
        'startup-seconds': result.startupSeconds,
        'checkpoint-bytes': result.checkpointBytes,
        'checkpoint-failed': result.checkpointFailure ?? ''
    };
}

;// CONCATENATED MODULE: ./src/cli/main.ts
// The command line: parse, run the engine, print. No logic of its own beyond that.














const VERSION = '0.1.0';
const processIo = {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text)
};
/** Runs one command line; resolves to the process exit code. */
async function main(argv, io = processIo) {
    try {
        return await execute(parseCommand(argv), io);
    }
    catch (error) {
        if (error instanceof UsageError || error instanceof SpecError) {
            io.stderr(`warmstart: ${error.message}\n`);
            return 2;
        }
        io.stderr(`warmstart: ${message(error)}\n`);
        return error instanceof UpError ? error.exitCode : 1;
    }
}
async function execute(command, io) {
    switch (command.name) {
        case 'help':
            io.stdout(`${HELP[command.topic ?? 'main'] ?? HELP.main}\n`);
            return 0;
        case 'version':
            io.stdout(`warmstart ${VERSION}\n`);
            return 0;
        case 'up': {
            const spec = loadSpec(command.spec, command.specFile);
            const logger = consoleLogger({ verbose: command.verbose });
            const podman = new Podman({ logger });
            const store = openStore(command.store);
            const result = await up(spec, { podman, store, logger, replace: command.replace });
            io.stdout(command.json ? `${JSON.stringify(outputs(result), null, 2)}\n` : describeUp(result));
            return 0;
        }
        case 'key': {
            const spec = loadSpec(command.spec, command.specFile);
            // The same facts and decision as `up`: the key printed is the key `up` uses.
            const { key } = await planFor(spec, { podman: new Podman({ logger: silentLogger }) });
            if (command.json)
                io.stdout(`${JSON.stringify(command.explain ? { 'cache-key': key.key, components: key.components } : { 'cache-key': key.key })}\n`);
            else if (command.explain) {
                const width = Math.max(...Object.keys(key.components).map((name) => name.length));
                io.stdout(`${key.key}\n${Object.entries(key.components)
                    .map(([name, value]) => `  ${name.padEnd(width)}  ${value}`)
                    .join('\n')}\n`);
            }
            else
                io.stdout(`${key.key}\n`);
            return 0;
        }
        case 'down':
            await down(command.container, { podman: new Podman() });
            io.stderr(`removed ${command.container}\n`);
            return 0;
        case 'ls': {
            const store = openStore(command.store);
            const entries = await store.list();
            if (command.json) {
                io.stdout(`${JSON.stringify(entries, null, 2)}\n`);
            }
            else if (!entries.length) {
                io.stdout(`no checkpoints in ${store.description}\n`);
            }
            else {
                for (const entry of entries) {
                    const when = 'lastUsedAt' in entry
                        ? `last used ${new Date(entry.lastUsedAt).toISOString()}`
                        : `created ${new Date(entry.createdAt).toISOString()}`;
                    io.stdout(`${entry.key}  ${formatBytes(entry.bytes)}  ${when}\n`);
                }
            }
            return 0;
        }
        case 'prune': {
            const store = openStore(command.store);
            const removed = await store.prune({
                maxBytes: command.all ? 0 : command.maxSize,
                maxAgeMs: command.maxAgeMs,
                dryRun: command.dryRun
            });
            if (command.json)
                io.stdout(`${JSON.stringify(removed, null, 2)}\n`);
            else {
                const verb = command.dryRun ? 'would remove' : 'removed';
                io.stdout(`${verb} ${removed.length} checkpoint(s), ${formatBytes(removed.reduce((sum, entry) => sum + entry.bytes, 0))}\n`);
            }
            return 0;
        }
    }
}
function loadSpec(flags, file) {
    let fromFile = {};
    if (file) {
        let text;
        try {
            text = (0,external_node_fs_namespaceObject.readFileSync)(file, 'utf8');
        }
        catch (error) {
            throw new UsageError(`--spec: cannot read ${file}: ${message(error)}`);
        }
        try {
            fromFile = JSON.parse(text);
        }
        catch (error) {
            throw new UsageError(`--spec: ${file} is not JSON: ${message(error)}`);
        }
        if (typeof fromFile !== 'object' || fromFile === null || Array.isArray(fromFile)) {
            throw new UsageError(`--spec: ${file} must hold a JSON object`);
        }
    }
    return parseSpec({ ...fromFile, ...flags });
}
/**
 * The store `--store` names: `oci://REGISTRY/REPOSITORY` (credentials from the auth files
 * podman and docker keep), else a directory.
 */
function openStore(text) {
    if (text === undefined || !isOciStore(text)) {
        return new LocalDirectoryStore({ dir: text ?? defaultStoreDir(process.env, (0,external_node_os_namespaceObject.homedir)()) });
    }
    let location;
    try {
        location = parseOciLocation(text);
    }
    catch (error) {
        throw new UsageError(`--store: ${message(error)}`);
    }
    return new OciRegistryStore({
        location,
        credentials: readCredentials(location.registry, location.repository, process.env, (0,external_node_os_namespaceObject.homedir)())
    });
}
/** The action's output names, plus the phase timings and warnings. */
function outputs(result) {
    return {
        ...outputsOf(result),
        saved: result.saved,
        ...(result.restoreStats ? { 'restore-stats': result.restoreStats } : {}),
        timings: result.timings,
        warnings: result.warnings
    };
}
function describeUp(result) {
    const how = result.restored ? 'restored from its checkpoint' : 'started cold';
    const phases = describePhases(result.timings);
    const stored = result.saved ? `; checkpoint of ${formatBytes(result.checkpointBytes)} stored` : '';
    return `${result.containerName} is up: ${how} in ${result.startupSeconds.toFixed(1)} s (${phases})${stored}\n`;
}


/***/ })

/******/ });
/************************************************************************/
/******/ // The module cache
/******/ var __webpack_module_cache__ = {};
/******/ 
/******/ // The require function
/******/ function __nccwpck_require__(moduleId) {
/******/ 	// Check if module is in cache
/******/ 	var cachedModule = __webpack_module_cache__[moduleId];
/******/ 	if (cachedModule !== undefined) {
/******/ 		return cachedModule.exports;
/******/ 	}
/******/ 	// Create a new module (and put it into the cache)
/******/ 	var module = __webpack_module_cache__[moduleId] = {
/******/ 		// no module.id needed
/******/ 		// no module.loaded needed
/******/ 		exports: {}
/******/ 	};
/******/ 
/******/ 	// Execute the module function
/******/ 	var threw = true;
/******/ 	try {
/******/ 		__webpack_modules__[moduleId](module, module.exports, __nccwpck_require__);
/******/ 		threw = false;
/******/ 	} finally {
/******/ 		if(threw) delete __webpack_module_cache__[moduleId];
/******/ 	}
/******/ 
/******/ 	// Return the exports of the module
/******/ 	return module.exports;
/******/ }
/******/ 
/************************************************************************/
/******/ /* webpack/runtime/asset-relocator-loader */
/******/ if (typeof __nccwpck_require__ !== 'undefined') __nccwpck_require__.ab = decodeURIComponent(new URL('.', import.meta.url).pathname).slice(import.meta.url.match(/^file:\/\/\/\w:/) ? 1 : 0, -1) + "/";
/******/ 
/******/ /* webpack/runtime/async module */
/******/ (() => {
/******/ 	var webpackQueues = typeof Symbol === "function" ? Symbol("webpack queues") : "__webpack_queues__";
/******/ 	var webpackExports = typeof Symbol === "function" ? Symbol("webpack exports") : "__webpack_exports__";
/******/ 	var webpackError = typeof Symbol === "function" ? Symbol("webpack error") : "__webpack_error__";
/******/ 	var resolveQueue = (queue) => {
/******/ 		if(queue && queue.d < 1) {
/******/ 			queue.d = 1;
/******/ 			queue.forEach((fn) => (fn.r--));
/******/ 			queue.forEach((fn) => (fn.r-- ? fn.r++ : fn()));
/******/ 		}
/******/ 	}
/******/ 	var wrapDeps = (deps) => (deps.map((dep) => {
/******/ 		if(dep !== null && typeof dep === "object") {
/******/ 			if(dep[webpackQueues]) return dep;
/******/ 			if(dep.then) {
/******/ 				var queue = [];
/******/ 				queue.d = 0;
/******/ 				dep.then((r) => {
/******/ 					obj[webpackExports] = r;
/******/ 					resolveQueue(queue);
/******/ 				}, (e) => {
/******/ 					obj[webpackError] = e;
/******/ 					resolveQueue(queue);
/******/ 				});
/******/ 				var obj = {};
/******/ 				obj[webpackQueues] = (fn) => (fn(queue));
/******/ 				return obj;
/******/ 			}
/******/ 		}
/******/ 		var ret = {};
/******/ 		ret[webpackQueues] = x => {};
/******/ 		ret[webpackExports] = dep;
/******/ 		return ret;
/******/ 	}));
/******/ 	__nccwpck_require__.a = (module, body, hasAwait) => {
/******/ 		var queue;
/******/ 		hasAwait && ((queue = []).d = -1);
/******/ 		var depQueues = new Set();
/******/ 		var exports = module.exports;
/******/ 		var currentDeps;
/******/ 		var outerResolve;
/******/ 		var reject;
/******/ 		var promise = new Promise((resolve, rej) => {
/******/ 			reject = rej;
/******/ 			outerResolve = resolve;
/******/ 		});
/******/ 		promise[webpackExports] = exports;
/******/ 		promise[webpackQueues] = (fn) => (queue && fn(queue), depQueues.forEach(fn), promise["catch"](x => {}));
/******/ 		module.exports = promise;
/******/ 		body((deps) => {
/******/ 			currentDeps = wrapDeps(deps);
/******/ 			var fn;
/******/ 			var getResult = () => (currentDeps.map((d) => {
/******/ 				if(d[webpackError]) throw d[webpackError];
/******/ 				return d[webpackExports];
/******/ 			}))
/******/ 			var promise = new Promise((resolve) => {
/******/ 				fn = () => (resolve(getResult));
/******/ 				fn.r = 0;
/******/ 				var fnQueue = (q) => (q !== queue && !depQueues.has(q) && (depQueues.add(q), q && !q.d && (fn.r++, q.push(fn))));
/******/ 				currentDeps.map((dep) => (dep[webpackQueues](fnQueue)));
/******/ 			});
/******/ 			return fn.r ? promise : getResult();
/******/ 		}, (err) => ((err ? reject(promise[webpackError] = err) : outerResolve(exports)), resolveQueue(queue)));
/******/ 		queue && queue.d < 0 && (queue.d = 0);
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/define property getters */
/******/ (() => {
/******/ 	// define getter functions for harmony exports
/******/ 	__nccwpck_require__.d = (exports, definition) => {
/******/ 		for(var key in definition) {
/******/ 			if(__nccwpck_require__.o(definition, key) && !__nccwpck_require__.o(exports, key)) {
/******/ 				Object.defineProperty(exports, key, { enumerable: true, get: definition[key] });
/******/ 			}
/******/ 		}
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/hasOwnProperty shorthand */
/******/ (() => {
/******/ 	__nccwpck_require__.o = (obj, prop) => (Object.prototype.hasOwnProperty.call(obj, prop))
/******/ })();
/******/ 
/************************************************************************/
/******/ 
/******/ // startup
/******/ // Load entry module and return exports
/******/ // This entry module used 'module' so it can't be inlined
/******/ var __webpack_exports__ = __nccwpck_require__(581);
/******/ __webpack_exports__ = await __webpack_exports__;
/******/ 
