// Fixture for the no-orphans test: starts a theater pointed at a Mediator that does not exist
// (so it keeps retrying instead of exiting), prints its pid, then idles until killed.
import { spawnLocalTheater } from "../spawn-local-theater";

const [mediator, logFile] = process.argv.slice(2);
const theater = spawnLocalTheater({ vmId: "orphan-check", mediator: mediator!, secret: "unused", logFile });
process.stdout.write(`${JSON.stringify({ theaterPid: theater.pid })}\n`);
setInterval(() => {}, 60_000);
