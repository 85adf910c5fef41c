import { notFound } from "next/navigation";

/** Any address no page answers: the console's own 404, inside its layout (top bar and nav). */
export default function Missing(): never {
  notFound();
}
