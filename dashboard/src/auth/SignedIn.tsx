import { WebStorageStateStore, type UserManagerSettings } from "oidc-client-ts";
import { useEffect, useMemo, type ReactNode } from "react";
import { AuthProvider, useAuth } from "react-oidc-context";
import type { AuthConfig } from "../config";
import { identityFromAccessToken } from "./identity";
import { IdentityProvider } from "./IdentityContext";

/** oidc-client-ts settings for the user pool: authorization code with PKCE, the hosted sign-in
 *  pages, tokens kept for the browser session only, renewed with the refresh token before they
 *  expire. */
export function oidcSettings(auth: AuthConfig, origin: string = window.location.origin): UserManagerSettings {
  return {
    authority: auth.authority,
    client_id: auth.clientId,
    redirect_uri: `${origin}/`,
    post_logout_redirect_uri: `${origin}/`,
    response_type: "code",
    scope: auth.scope,
    automaticSilentRenew: true,
    loadUserInfo: false,
    userStore: new WebStorageStateStore({ store: window.sessionStorage }),
  };
}

/** Cognito's sign-out page (its discovery document names no end_session_endpoint). */
export function logoutUrl(auth: AuthConfig, origin: string = window.location.origin): string {
  const query = new URLSearchParams({ client_id: auth.clientId, logout_uri: `${origin}/` });
  return `${auth.domain.replace(/\/+$/, "")}/logout?${query.toString()}`;
}

/** The newest access token, for the API client (one signed-in user per page). */
let latestToken: string | null = null;
const accessToken = () => latestToken;
function remember(token: string | null): void {
  latestToken = token;
}

interface SignedInProps {
  auth: AuthConfig;
  /** Renders the app once signed in: a getter for the current access token (it is renewed). */
  children: (accessToken: () => string | null, token: string) => ReactNode;
}

export function SignedIn({ auth, children }: SignedInProps) {
  const settings = useMemo(() => oidcSettings(auth), [auth]);
  return (
    <AuthProvider
      {...settings}
      onSigninCallback={(user) => {
        // Back to where sign-in started, without ?code=&state= in the address bar.
        const target = typeof user?.state === "string" ? user.state : "/";
        window.history.replaceState(null, "", target);
      }}
    >
      <Gate auth={auth}>{children}</Gate>
    </AuthProvider>
  );
}

function Gate({ auth, children }: SignedInProps) {
  const oidc = useAuth();
  const { events, removeUser } = oidc;
  // A renewal that failed (the refresh token expired or was revoked) leaves a token every request
  // would be refused with: when it expires, back to the sign-in screen, with the renewal's error.
  useEffect(() => events.addAccessTokenExpired(() => void removeUser()), [events, removeUser]);
  const token = oidc.user?.access_token ?? null;
  // The API client reads the newest token on each request (children's effects run before this
  // component's, so it is set while rendering); renewals replace it.
  remember(token);
  if (oidc.isLoading || oidc.activeNavigator === "signinRedirect") {
    return <SignInState title="Signing in…" />;
  }
  if (!oidc.isAuthenticated || !token) {
    return (
      <SignInState title="Sign in to Orchestra" error={oidc.error?.message}>
        <button
          type="button"
          className="button button--primary"
          onClick={() => void oidc.signinRedirect({ state: window.location.pathname + window.location.search })}
        >
          Sign in
        </button>
      </SignInState>
    );
  }
  const identity = identityFromAccessToken(token, oidc.user?.profile.email);
  const signOut = () => {
    void oidc.removeUser().then(() => window.location.assign(logoutUrl(auth)));
  };
  return (
    <IdentityProvider identity={identity} signOut={signOut}>
      {children(accessToken, token)}
    </IdentityProvider>
  );
}

function SignInState({ title, error, children }: { title: string; error?: string | undefined; children?: ReactNode }) {
  return (
    <main className="main">
      <div className="state sign-in" data-testid="sign-in">
        <p className="state__title">{title}</p>
        {error && (
          <p role="alert" className="sign-in__error">
            {error}
          </p>
        )}
        {children}
      </div>
    </main>
  );
}
