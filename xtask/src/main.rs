//! `cargo xtask build`: the browser bundle, split by page, without cargo-leptos.
//!
//! 1. compiles `frontend` for wasm32 with the `wasm-release` profile, linked with `--emit-relocs`
//!    (the splitter needs the relocations),
//! 2. splits the module before wasm-bindgen with `wasm_split_cli_support` (what `cargo leptos
//!    --split` does): the main module plus one chunk per `#[lazy]` page and chunks they share, and
//!    `__wasm_split_manifest.json`, which the server reads to preload a page's chunks,
//! 3. runs wasm-bindgen (as a library, pinned to the exact version in Cargo.lock) on the main module,
//! 4. shrinks every module with `wasm-opt -Oz` (binaryen from npm, see `tools/`),
//! 5. copies `style/main.css`, writes a `.br` and a `.gz` copy of every file, prints the sizes
//!    (and keeps them in `target/bundle-sizes.txt`),
//! 6. publishes it all as `target/site/pkg/<hash of the files>/`, named in `target/site/pkg/version`,
//!    so that browsers may cache the files for good; the two versions before it stay.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

const OUT_NAME: &str = "flowdeck";
/// The loader leptos' `<HydrationScripts>` imports; the name is fixed by leptos.
const SPLIT_LINK: &str = "__wasm_split.______________________.js";
const SPLIT_MANIFEST: &str = "__wasm_split_manifest.json";
/// The main module's budget, gzip (issue 13): every page downloads it, so a build over it fails.
const MAIN_GZIP_MAX: u64 = 350_000;

fn main() -> anyhow::Result<()> {
    let task = std::env::args().nth(1).unwrap_or_default();
    match task.as_str() {
        "build" => build(),
        _ => bail!("usage: cargo xtask build"),
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

fn build() -> anyhow::Result<()> {
    let root = root();
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    // `FLOWDECK_SITE` publishes elsewhere (a second bundle to compare, say).
    let site = std::env::var_os("FLOWDECK_SITE").map(PathBuf::from).unwrap_or_else(|| target_dir.join("site"));
    // Assembled beside the site, not in it: the server serves nothing half-built.
    let next = target_dir.join("bundle-next");
    compile(&root)?;
    let input = target_dir.join("wasm32-unknown-unknown/wasm-release/frontend.wasm");
    if next.exists() {
        std::fs::remove_dir_all(&next)?;
    }
    std::fs::create_dir_all(&next)?;
    let main = split(&input, &next)?;
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&main)
        .web(true)?
        .out_name(OUT_NAME)
        .typescript(false)
        .keep_lld_exports(true)
        .demangle(false)
        .generate(&next)
        .context("wasm-bindgen")?;
    std::fs::remove_file(&main)?;
    // `<HydrationScripts>` links `<output name>.wasm` when LEPTOS_OUTPUT_NAME is set at compile time.
    std::fs::rename(next.join(format!("{OUT_NAME}_bg.wasm")), next.join(format!("{OUT_NAME}.wasm")))?;
    // `FLOWDECK_WASM_OPT=0`: no wasm-opt and no compressed copies, a quick build whose modules keep
    // their function names (for stack traces and twiggy).
    let optimised = std::env::var("FLOWDECK_WASM_OPT").as_deref() != Ok("0");
    if optimised {
        for wasm in files(&next, "wasm")? {
            optimise(&root, &wasm)?;
        }
    }
    std::fs::copy(root.join("style/main.css"), next.join(format!("{OUT_NAME}.css")))
        .context("copying style/main.css")?;
    if optimised {
        precompress(&next)?;
        report(&target_dir, &next)?;
    }
    publish(&site, &next)
}

fn compile(root: &Path) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // RUSTFLAGS replaces `build.rustflags` from .cargo/config.toml, so its `erase_components`
    // (which the server is built with too: hydration needs both sides alike) is repeated here.
    let mut rustflags = std::env::var("RUSTFLAGS").unwrap_or_default();
    rustflags.push_str(" --cfg erase_components -Clink-args=--emit-relocs");
    let status = Command::new(cargo)
        .current_dir(root)
        .env("RUSTFLAGS", rustflags.trim())
        .args(["build", "-p", "frontend", "--target", "wasm32-unknown-unknown", "--profile", "wasm-release"])
        .status()
        .context("running cargo")?;
    if !status.success() {
        bail!("building the frontend failed");
    }
    Ok(())
}

/// Splits `input` into `out`: returns the main module (still to go through wasm-bindgen).
fn split(input: &Path, out: &Path) -> anyhow::Result<PathBuf> {
    let bytes = std::fs::read(input).with_context(|| format!("reading {}", input.display()))?;
    let main = out.join(format!("{OUT_NAME}_split.wasm"));
    let main_module = format!("./{OUT_NAME}.js");
    let link_name = format!("./{SPLIT_LINK}");
    let mut options = wasm_split_cli_support::Options::new(&bytes);
    options.output_dir = out;
    options.main_out_path = &main;
    options.main_module = &main_module;
    options.link_name = &link_name;
    let split =
        wasm_split_cli_support::transform(options).map_err(|e| anyhow::anyhow!("splitting the module: {e:#}"))?;
    std::fs::write(out.join(SPLIT_MANIFEST), serde_json::to_vec(&split.prefetch_map)?)?;
    Ok(main)
}

/// The files in `dir` whose name ends in `.ext`, sorted.
fn files(dir: &Path, ext: &str) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == ext) {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

/// `wasm-opt -Oz` from PATH or `tools/node_modules/.bin`; required, since release builds ship it.
fn optimise(root: &Path, wasm: &Path) -> anyhow::Result<()> {
    let local = root.join("tools/node_modules/.bin/wasm-opt");
    let program = if local.exists() { local.into_os_string() } else { "wasm-opt".into() };
    let status = Command::new(&program)
        .args(["-Oz", "--enable-bulk-memory", "--enable-nontrapping-float-to-int"])
        .arg(wasm)
        .arg("-o")
        .arg(wasm)
        .status()
        .with_context(|| "running wasm-opt (install it with `npm ci --prefix tools`)".to_string())?;
    if !status.success() {
        bail!("wasm-opt failed on {}", wasm.display());
    }
    Ok(())
}

fn gzip(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes)?;
    Ok(gz.finish()?)
}

fn brotli(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams { quality: 11, lgwin: 22, ..Default::default() };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)?;
    Ok(out)
}

/// The size of every module, raw and as its `.gz` and `.br` copies, main module first, then the
/// total; printed, and kept in `target/bundle-sizes.txt` for `make test`'s summary.
fn report(target_dir: &Path, dir: &Path) -> anyhow::Result<()> {
    let main = format!("{OUT_NAME}.wasm");
    let size = |path: PathBuf| std::fs::metadata(path).map(|m| m.len());
    let mut rows = Vec::new();
    for wasm in files(dir, "wasm")? {
        let name = wasm.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let sizes = [size(wasm.clone())?, size(dir.join(format!("{name}.gz")))?, size(dir.join(format!("{name}.br")))?];
        rows.push((name != main, name, sizes));
    }
    rows.sort();
    let mut text = format!("{:<56} {:>10} {:>10} {:>10}\n", "wasm module", "raw", "gzip", "brotli");
    let mut total = [0; 3];
    for (_, name, sizes) in &rows {
        text.push_str(&format!("{name:<56} {:>10} {:>10} {:>10}\n", sizes[0], sizes[1], sizes[2]));
        total.iter_mut().zip(sizes).for_each(|(t, s)| *t += s);
    }
    let all = format!("all {} modules", rows.len());
    text.push_str(&format!("{all:<56} {:>10} {:>10} {:>10}\n", total[0], total[1], total[2]));
    print!("{text}");
    std::fs::write(target_dir.join("bundle-sizes.txt"), text)?;
    if let Some((_, _, sizes)) = rows.iter().find(|(_, name, _)| *name == main)
        && sizes[1] > MAIN_GZIP_MAX
    {
        bail!("the main module is {} bytes gzip, over its budget of {MAIN_GZIP_MAX}: make a page lazy", sizes[1]);
    }
    Ok(())
}

/// Writes `<file>.br` and `<file>.gz` beside every file, for the server to send as they are.
fn precompress(dir: &Path) -> anyhow::Result<()> {
    let mut all = Vec::new();
    for ext in ["wasm", "js", "json", "css"] {
        all.extend(files(dir, ext)?);
    }
    for file in all {
        let bytes = std::fs::read(&file)?;
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        std::fs::write(dir.join(format!("{name}.br")), brotli(&bytes)?)?;
        std::fs::write(dir.join(format!("{name}.gz")), gzip(&bytes)?)?;
    }
    Ok(())
}

/// Moves `next` to `pkg/<version>`, the version being a hash of every file's name and content,
/// then names it in `pkg/version` (replaced in one rename, so a server starting meanwhile reads
/// the old name or the new one). The three newest versions stay: a server still running the one
/// before, and the tabs it served, keep finding their files until it restarts.
fn publish(site: &Path, next: &Path) -> anyhow::Result<()> {
    const KEEP: usize = 3;
    let mut hash = Sha256::new();
    let mut names: Vec<PathBuf> = std::fs::read_dir(next)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    names.sort();
    for path in &names {
        hash.update(path.file_name().map(|n| n.as_encoded_bytes()).unwrap_or_default());
        hash.update(std::fs::read(path)?);
    }
    let version: String = hash.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect();
    let pkg = site.join("pkg");
    std::fs::create_dir_all(&pkg)?;
    let published = pkg.join(&version);
    if published.exists() {
        std::fs::remove_dir_all(&published)?;
    }
    std::fs::rename(next, &published)?;
    let named = pkg.join("version.next");
    std::fs::write(&named, format!("{version}\n"))?;
    std::fs::rename(&named, pkg.join("version"))?;
    // Older versions, newest first; anything else in pkg/ is from an older kind of build.
    let mut older = Vec::new();
    for entry in std::fs::read_dir(&pkg)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "version" || name == version {
            continue;
        }
        if entry.file_type()?.is_dir() && name.len() == 16 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
            older.push((entry.metadata()?.modified()?, entry.path()));
        } else if entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(entry.path())?;
        } else {
            std::fs::remove_file(entry.path())?;
        }
    }
    older.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
    for (_, path) in older.into_iter().skip(KEEP - 1) {
        std::fs::remove_dir_all(path)?;
    }
    println!("bundle: {}", published.display());
    Ok(())
}
