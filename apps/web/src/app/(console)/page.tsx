import { TopologyView } from "../../components/topology-view";

// Everything on this page is live data fetched in the browser; never prerender it at build time.
export const dynamic = "force-dynamic";

export default function TopologyPage() {
  return <TopologyView />;
}
