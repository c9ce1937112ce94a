import { useIdentity } from "./IdentityContext";

const ROLE_LABELS = { operator: "Operator", viewer: "Viewer", none: "No access" } as const;

/** The signed-in user and their role, and sign-out (nothing without sign-in). */
export function UserMenu() {
  const { identity, signOut } = useIdentity();
  if (!identity.username || !signOut) return null;
  return (
    <div className="user-menu">
      <span className="user-menu__name" data-testid="signed-in-user">
        {identity.username}
      </span>
      <span className={`user-menu__role user-menu__role--${identity.role}`} data-testid="signed-in-role">
        {ROLE_LABELS[identity.role]}
      </span>
      <button type="button" className="button" onClick={signOut}>
        Sign out
      </button>
    </div>
  );
}
