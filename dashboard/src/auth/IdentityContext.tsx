import { createContext, useContext, type ReactNode } from "react";
import { NO_SIGN_IN, type Identity } from "./identity";

interface IdentityValue {
  identity: Identity;
  /** null without sign-in. */
  signOut: (() => void) | null;
}

const IdentityContext = createContext<IdentityValue>({ identity: NO_SIGN_IN, signOut: null });

export function IdentityProvider({
  identity,
  signOut,
  children,
}: IdentityValue & { children: ReactNode }) {
  return <IdentityContext.Provider value={{ identity, signOut }}>{children}</IdentityContext.Provider>;
}

export function useIdentity(): IdentityValue {
  return useContext(IdentityContext);
}
