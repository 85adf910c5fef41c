import Link from "next/link";

export default function NotFound() {
  return (
    <div className="placeholder">
      <h1>Not found</h1>
      <p>
        Nothing lives at this address. Go to the <Link href="/">Topology</Link> or the <Link href="/history">History</Link>.
      </p>
    </div>
  );
}
