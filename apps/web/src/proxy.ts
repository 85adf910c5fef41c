import { NextResponse, type NextRequest } from "next/server";

/** The request header that tells the console's server layout which page was asked for. */
export const PATH_HEADER = "x-malleo-path";

/**
 * Passes each page request's path and query on to the server components, so that a visitor who
 * is not signed in is sent to sign-in with `next=` that page, and comes back to it afterwards.
 * A client's own x-malleo-path is overwritten.
 */
export function proxy(req: NextRequest): NextResponse {
  const headers = new Headers(req.headers);
  headers.set(PATH_HEADER, `${req.nextUrl.pathname}${req.nextUrl.search}`);
  return NextResponse.next({ request: { headers } });
}

export const config = {
  // Pages only: not the API, Next's own assets or the icon.
  matcher: ["/((?!api/|_next/|icon\\.svg|favicon\\.ico).*)"],
};
