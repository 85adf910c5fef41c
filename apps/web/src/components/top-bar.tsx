"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";
import { useEffect, useState } from "react";
import { LiveIndicator } from "./live-events";
import { UserMenu } from "./user-menu";
import { useIsAdmin } from "./user-context";

const PAGES = [
  { href: "/", label: "Topology", testId: "nav-topology" },
  { href: "/applications", label: "Applications", testId: "nav-applications" },
  { href: "/history", label: "History", testId: "nav-history" },
  { href: "/charts", label: "Charts", testId: "nav-charts" },
  { href: "/admin", label: "Admin", testId: "nav-admin", admin: true },
] as const;

/** Whether `pathname` is inside the page at `href` (an operation belongs to History). */
export function isCurrentPage(href: string, pathname: string): boolean {
  if (href === "/") return pathname === "/";
  if (href === "/history" && pathname.startsWith("/operations/")) return true;
  return pathname === href || pathname.startsWith(`${href}/`);
}

/**
 * The console's top bar: the brand, the pages (the current one marked), the live indicator and
 * the user menu. Below 760 px the pages and the user menu fold behind a Menu button.
 */
export function TopBar() {
  const pathname = usePathname();
  const admin = useIsAdmin();
  const [open, setOpen] = useState(false);
  // A navigation closes the folded menu.
  useEffect(() => setOpen(false), [pathname]);
  return (
    <header className={`topbar${open ? " topbar--open" : ""}`}>
      <Link href="/" className="brand">
        <span className="brand__mark" aria-hidden>
          ◧
        </span>
        Malleo
      </Link>
      <LiveIndicator />
      <button
        type="button"
        className="topbar__toggle button button--small button--dark"
        data-testid="nav-toggle"
        aria-expanded={open}
        aria-controls="topbar-menu"
        onClick={() => setOpen((o) => !o)}
      >
        <span aria-hidden>{open ? "✕" : "☰"}</span> Menu
      </button>
      <div className="topbar__menu" id="topbar-menu">
        <nav className="topbar__nav" aria-label="Main">
          {PAGES.filter((p) => !("admin" in p) || admin).map((p) => {
            const current = isCurrentPage(p.href, pathname);
            return (
              <Link key={p.href} href={p.href} data-testid={p.testId} aria-current={current ? "page" : undefined}>
                {p.label}
              </Link>
            );
          })}
        </nav>
        <UserMenu />
      </div>
    </header>
  );
}
