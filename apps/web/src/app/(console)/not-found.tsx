import Link from "next/link";

export default function ConsoleNotFound() {
  return (
    <div className="placeholder" data-testid="not-found">
      <h1>Not found</h1>
      <p>
        Nothing lives at this address. Go to the <Link href="/">Topology</Link> or the <Link href="/history">History</Link>.
      </p>
    </div>
  );
}
