// Starts the built Worker like `wrangler dev --local`, but with the devtools inspector OFF and no
// build step (same approach as the peers' common/start-worker.cjs, so figures are comparable).
// usage: node bench/start-worker.cjs PORT PERSIST_DIR
const path = require("node:path");
const root = path.resolve(__dirname, "..");
const [port, persist] = process.argv.slice(2);
const { unstable_startWorker } = require(path.join(root, "node_modules/wrangler"));

(async () => {
  const worker = await unstable_startWorker({
    config: path.join(root, "wrangler.toml"),
    build: { custom: { command: undefined } },
    dev: {
      remote: false,
      inspector: false,
      server: { hostname: "127.0.0.1", port: Number(port) },
      persist,
      logLevel: "warn",
    },
  });
  await worker.ready;
  const stop = async () => { await worker.dispose(); process.exit(0); };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
})().catch((e) => { console.error(e); process.exit(1); });
