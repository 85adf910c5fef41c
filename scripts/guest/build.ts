// `npm run guest:build`: builds the bootable Malleo guest from Debian and npm packages only.
//
//   <guest dir>/vmlinuz      Debian's linux-image-*-cloud-amd64 kernel (package downloaded, not installed)
//   <guest dir>/vmlinux      the same kernel decompressed (ELF with a PVH entry note): booted instead of
//                            vmlinuz when present, QEMU then enters the kernel directly (PVH boot), skipping
//                            the firmware's Linux loader and the kernel's self-decompression
//   <guest dir>/initrd.img   lz4 cpio: busybox-static, a stripped node + its libraries, the virtio
//                            modules, the bundled theater (esbuild) and /init
//   <guest dir>/guest.json   what was built from what (the inputs' hash decides "build if needed")
//
// The guest boots directly (<kernel>, <initrd>, <cmdline>) with no disk; /init reads its address,
// VM id, secret and Mediator from the kernel command line (see init.sh) and execs the theater.
// Guest dir: MALLEO_GUEST_DIR or .data/guest. `--force` rebuilds even when nothing changed.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { build, type Plugin } from "esbuild";

const root = path.resolve(import.meta.dirname, "../..");

/** Virtio modules in load order (each needs the ones before it). */
export const GUEST_MODULES = [
  "virtio_ring",
  "virtio",
  "virtio_pci_modern_dev",
  "virtio_pci_legacy_dev",
  "virtio_pci",
  "failover",
  "net_failover",
  "virtio_net",
];

export interface GuestImage {
  dir: string;
  /** The kernel QEMU boots: vmlinux (PVH) when it could be extracted, else vmlinuz. */
  kernel: string;
  initrd: string;
  kernelVersion: string;
  inputsHash: string;
  builtAt: string;
}

export function guestDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return path.resolve(env.MALLEO_GUEST_DIR ?? path.join(root, ".data/guest"));
}

function log(msg: string): void {
  process.stderr.write(`[guest-build] ${msg}\n`);
}

function run(cmd: string, args: string[], opts: { cwd?: string; input?: Buffer } = {}): string {
  return execFileSync(cmd, args, { cwd: opts.cwd, input: opts.input, encoding: "utf8", stdio: ["pipe", "pipe", "inherit"] });
}

/** The versioned kernel package behind the linux-image-cloud-amd64 metapackage. */
function cloudKernelPackage(): string {
  const deps = run("apt-cache", ["depends", "linux-image-cloud-amd64"]);
  const m = /Depends:\s+(linux-image-[0-9][^\s]*-cloud-amd64)/.exec(deps);
  if (!m?.[1]) throw new Error(`cannot find the cloud kernel package in:\n${deps}`);
  return m[1];
}

/** Downloads (once) and unpacks the kernel package; returns vmlinuz and the modules directory. */
function fetchKernel(cacheDir: string): { version: string; vmlinuz: string; modulesDir: string } {
  mkdirSync(cacheDir, { recursive: true });
  let debs = readdirSync(cacheDir).filter((f) => /^linux-image-.*-cloud-amd64.*\.deb$/.test(f));
  if (debs.length === 0) {
    let pkg: string;
    try {
      pkg = cloudKernelPackage();
    } catch {
      run("apt-get", ["update", "-qq"]);
      pkg = cloudKernelPackage();
    }
    log(`downloading ${pkg}`);
    run("apt-get", ["download", "-q", pkg], { cwd: cacheDir });
    debs = readdirSync(cacheDir).filter((f) => /^linux-image-.*-cloud-amd64.*\.deb$/.test(f));
  }
  const deb = debs.sort().at(-1)!;
  const unpacked = path.join(cacheDir, "unpacked");
  if (!existsSync(path.join(unpacked, ".done"))) {
    rmSync(unpacked, { recursive: true, force: true });
    run("dpkg-deb", ["-x", path.join(cacheDir, deb), unpacked]);
    writeFileSync(path.join(unpacked, ".done"), deb);
  }
  const vmlinuz = readdirSync(path.join(unpacked, "boot")).find((f) => f.startsWith("vmlinuz-"));
  if (!vmlinuz) throw new Error(`no vmlinuz in ${deb}`);
  const version = vmlinuz.slice("vmlinuz-".length);
  return {
    version,
    vmlinuz: path.join(unpacked, "boot", vmlinuz),
    modulesDir: path.join(unpacked, "lib/modules", version),
  };
}

/** Compressed payloads a bzImage may carry: magic bytes and the tool that decompresses them. */
const KERNEL_PAYLOADS: { magic: string; tool: string[] }[] = [
  { magic: "02214c18", tool: ["lz4", "-dc"] },
  { magic: "28b52ffd", tool: ["zstd", "-dcq"] },
  { magic: "fd377a585a00", tool: ["xz", "-dcq"] },
  { magic: "1f8b0800", tool: ["gzip", "-dcq"] },
];

/** Whether an ELF kernel carries XEN_ELFNOTE_PHYS32_ENTRY (type 18), which QEMU needs to boot it via PVH. */
function hasPvhNote(elf: string): boolean {
  return /^\s*Xen\s+0x[0-9a-f]+\s+Unknown note type: \(0x00000012\)/m.test(run("readelf", ["-n", elf]));
}

/**
 * Decompresses the kernel inside a bzImage (like the kernel tree's extract-vmlinux: the first
 * payload whose decompression is an ELF file) and keeps it only if it can boot via PVH.
 * Returns undefined when there is none (the guest then boots vmlinuz as before).
 */
function extractPvhKernel(vmlinuz: string, out: string): string | undefined {
  const image = readFileSync(vmlinuz);
  for (const { magic, tool } of KERNEL_PAYLOADS) {
    const needle = Buffer.from(magic, "hex");
    for (let offset = image.indexOf(needle); offset >= 0; offset = image.indexOf(needle, offset + 1)) {
      // Trailing bytes after the payload make some tools exit non-zero: judge by the output.
      const r = spawnSync(tool[0]!, tool.slice(1), { input: image.subarray(offset), maxBuffer: 1 << 30 });
      if (!r.stdout || r.stdout.subarray(0, 4).toString("latin1") !== "\x7fELF") continue;
      writeFileSync(out, r.stdout);
      if (hasPvhNote(out)) return out;
      rmSync(out, { force: true });
      log(`the kernel in ${path.basename(vmlinuz)} has no PVH entry note: booting vmlinuz`);
      return undefined;
    }
  }
  log(`no decompressible ELF kernel found in ${path.basename(vmlinuz)}: booting vmlinuz`);
  return undefined;
}

/** Finds each module file (plain .ko, or compressed, which is decompressed into the rootfs). */
function collectModules(modulesDir: string, rootfs: string): string[] {
  const files = run("find", [modulesDir, "-name", "*.ko*"]).split("\n").filter(Boolean);
  const target = path.join(rootfs, "lib/modules");
  mkdirSync(target, { recursive: true });
  const names: string[] = [];
  for (const mod of GUEST_MODULES) {
    const file = files.find((f) => path.basename(f).replace(/\.ko(\.(xz|zst|gz))?$/, "") === mod);
    if (!file) throw new Error(`kernel module ${mod} not found under ${modulesDir}`);
    const out = path.join(target, `${mod}.ko`);
    if (file.endsWith(".ko")) copyFileSync(file, out);
    else if (file.endsWith(".xz")) writeFileSync(out, execFileSync("xz", ["-dc", file]));
    else if (file.endsWith(".zst")) writeFileSync(out, execFileSync("zstd", ["-dc", file]));
    else writeFileSync(out, execFileSync("gzip", ["-dc", file]));
    names.push(mod);
  }
  return names;
}

/** Copies node (stripped) and every shared library ldd names, at the same paths. */
function installNode(rootfs: string): void {
  const node = process.execPath;
  mkdirSync(path.join(rootfs, "bin"), { recursive: true });
  const target = path.join(rootfs, "bin/node");
  copyFileSync(node, target);
  run("strip", ["--strip-all", target]);
  chmodSync(target, 0o755);
  for (const line of run("ldd", [node]).split("\n")) {
    const lib = /(\/\S+)\s+\(0x/.exec(line)?.[1];
    if (!lib) continue;
    const out = path.join(rootfs, lib);
    mkdirSync(path.dirname(out), { recursive: true });
    copyFileSync(lib, out);
  }
}

function installBusybox(rootfs: string): void {
  const bin = path.join(rootfs, "bin");
  mkdirSync(bin, { recursive: true });
  copyFileSync("/bin/busybox", path.join(bin, "busybox"));
  chmodSync(path.join(bin, "busybox"), 0o755);
  for (const applet of ["sh", "mount", "insmod", "ip", "arping", "poweroff", "cat", "echo", "sleep", "mkdir", "ls", "dmesg"])
    execFileSync("ln", ["-sf", "busybox", path.join(bin, applet)]);
}

/**
 * The guest has no tsx: code that resolves it eagerly at module load (spawnLocalTheater, which a
 * guest never calls) gets a placeholder path instead. The bundle is CommonJS, where import.meta is
 * empty: the same module's other import.meta.url becomes the CommonJS equivalent.
 */
const noTsxInGuest: Plugin = {
  name: "no-tsx-in-guest",
  setup(b) {
    b.onLoad({ filter: /packages\/(actors|sdk)\/src\/.*\.ts$/ }, (args) => {
      const source = readFileSync(args.path, "utf8");
      return {
        contents: source
          .replace(/createRequire\(import\.meta\.url\)\.resolve\("tsx"\)/g, '"/nonexistent/tsx-is-not-in-the-guest"')
          .replace(/import\.meta\.url/g, 'require("node:url").pathToFileURL(__filename).href'),
        loader: "ts",
      };
    });
  },
};

/**
 * The theater as one CommonJS file: under software emulation Node starts a CommonJS entry point
 * sooner than an ES module one (its ESM loader is more code to run and translate; same-session
 * comparison in docs/benchmarks.md). Any other import.meta left in the bundle fails the build.
 */
async function bundleTheater(out: string): Promise<void> {
  await build({
    plugins: [noTsxInGuest],
    entryPoints: [path.join(root, "apps/theater/src/main.ts")],
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    outfile: out,
    minify: true,
    legalComments: "none",
    logLevel: "warning",
    logOverride: { "empty-import-meta": "error" },
  });
}

function hashOf(parts: (string | Buffer)[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex").slice(0, 16);
}

export function readGuestImage(dir = guestDir()): GuestImage | undefined {
  try {
    const image = JSON.parse(readFileSync(path.join(dir, "guest.json"), "utf8")) as GuestImage;
    return existsSync(image.kernel) && existsSync(image.initrd) ? image : undefined;
  } catch {
    return undefined;
  }
}

/** Builds the guest image unless one built from the same inputs exists. */
export async function buildGuestImage(opts: { dir?: string; force?: boolean } = {}): Promise<GuestImage> {
  const dir = opts.dir ?? guestDir();
  const t0 = Date.now();
  mkdirSync(dir, { recursive: true });
  execFileSync("bash", [path.join(root, "scripts/guest/host-setup.sh"), "packages"], { stdio: ["ignore", "inherit", "inherit"] });
  const kernel = fetchKernel(path.join(dir, "cache"));

  const work = path.join(dir, "work");
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const bundle = path.join(work, "theater.cjs");
  await bundleTheater(bundle);
  const initScript = readFileSync(path.join(root, "scripts/guest/init.sh"));
  const inputsHash = hashOf([
    kernel.version,
    process.version,
    readFileSync(bundle),
    initScript,
    GUEST_MODULES.join(","),
    "lz4-legacy",
    "pvh-vmlinux",
    readFileSync("/bin/busybox").subarray(0, 4096),
  ]);
  const existing = readGuestImage(dir);
  if (!opts.force && existing?.inputsHash === inputsHash) {
    log(`up to date (${inputsHash}); ${dir}`);
    rmSync(work, { recursive: true, force: true });
    return existing;
  }

  const rootfs = path.join(work, "rootfs");
  for (const d of ["dev", "proc", "sys", "tmp", "etc", "malleo"]) mkdirSync(path.join(rootfs, d), { recursive: true });
  installBusybox(rootfs);
  installNode(rootfs);
  collectModules(kernel.modulesDir, rootfs);
  copyFileSync(bundle, path.join(rootfs, "malleo/theater.cjs"));
  writeFileSync(path.join(rootfs, "init"), initScript);
  chmodSync(path.join(rootfs, "init"), 0o755);
  writeFileSync(path.join(rootfs, "etc/hosts"), "127.0.0.1 localhost\n");

  const files = run("find", [".", "-mindepth", "1"], { cwd: rootfs });
  const cpio = execFileSync("cpio", ["--quiet", "-o", "-H", "newc", "--owner=0:0"], {
    cwd: rootfs,
    input: files,
    maxBuffer: 1 << 30,
  });
  const initrd = path.join(dir, "initrd.img");
  // LZ4 (legacy format, what the kernel's unpacker reads): under software emulation the guest
  // reaches /init about a third sooner than with zstd, for a somewhat larger file.
  writeFileSync(initrd, execFileSync("lz4", ["-l", "-9", "-q", "-c"], { input: cpio, maxBuffer: 1 << 30 }));
  const vmlinuz = path.join(dir, "vmlinuz");
  copyFileSync(kernel.vmlinuz, vmlinuz);
  // PVH boot of the decompressed kernel: under software emulation the guest reaches /init sooner
  // (same-session comparison in docs/benchmarks.md).
  const vmlinux = extractPvhKernel(vmlinuz, path.join(dir, "vmlinux"));
  rmSync(work, { recursive: true, force: true });

  const image: GuestImage = {
    dir,
    kernel: vmlinux ?? vmlinuz,
    initrd,
    kernelVersion: kernel.version,
    inputsHash,
    builtAt: new Date().toISOString(),
  };
  writeFileSync(path.join(dir, "guest.json"), `${JSON.stringify(image, null, 2)}\n`);
  const mib = (readFileSync(initrd).length / 2 ** 20).toFixed(1);
  log(`built ${initrd} (${mib} MiB, kernel ${kernel.version}) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return image;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  buildGuestImage({ force: process.argv.includes("--force") }).then(
    (image) => process.stdout.write(`${JSON.stringify(image)}\n`),
    (error: Error) => {
      process.stderr.write(`[guest-build] failed: ${error.message}\n`);
      process.exit(1);
    },
  );
}
