import type { Metadata } from "next";
import Link from "next/link";
import type { ReactNode } from "react";
import { LiveEventsProvider, LiveIndicator } from "../components/live-events";
import { TRPCReactProvider } from "../trpc/react";
import "./globals.css";

export const metadata: Metadata = {
  title: "Malleo",
  description: "Split and merge virtual machines while their actors keep running",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <TRPCReactProvider>
          <LiveEventsProvider>
            <header className="topbar">
              <Link href="/" className="brand">
                <span className="brand__mark" aria-hidden>
                  ◧
                </span>
                Malleo
              </Link>
              <nav className="topbar__nav" aria-label="Main">
                <Link href="/" data-testid="nav-topology">
                  Topology
                </Link>
                <Link href="/history" data-testid="nav-history">
                  History
                </Link>
              </nav>
              <LiveIndicator />
            </header>
            <main className="content">{children}</main>
          </LiveEventsProvider>
        </TRPCReactProvider>
      </body>
    </html>
  );
}
