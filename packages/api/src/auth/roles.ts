export const ROLES = ["viewer", "operator", "admin"] as const;
export type Role = (typeof ROLES)[number];

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** Roles are ordered: an admin may do what an operator may, an operator what a viewer may. */
export function roleAllows(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}

export const ROLE_ABILITIES: Record<Role, string> = {
  viewer: "see topology, operations, history and charts",
  operator: "also split, merge and cancel",
  admin: "also create users and API tokens",
};
