// Compile-only check (tsc -p .): uses every export of keyward.d.ts the way an app would.
// It is never run; `npm run typecheck` fails if the declarations change shape.
import {
  AccessDeniedError,
  getCachedOpenAIAPI,
  handleRedirectCallback,
  KeywardError,
  PopupBlockedError,
  PopupClosedError,
  requestOpenAIAPI,
  signOut,
  TimeoutError,
  type KeywardMode,
  type KeywardOptions,
  type KeywardStorage,
  type OpenAIAPIAccess,
  type RequestOpenAIAPIOptions,
  type SignOutOptions,
} from "../keyward.js";

// The result is accepted as-is by `new OpenAI(...)`: this mirrors the options it needs.
type OpenAIClientOptionsSubset = { apiKey?: string; baseURL?: string | null; dangerouslyAllowBrowser?: boolean };

const mode: KeywardMode = "popup";
const storage: KeywardStorage = "local";
const common: KeywardOptions = { issuer: "https://keyward.example", clientId: "https://app.example", scope: "openai.chat", storage };
const requestOptions: RequestOpenAIAPIOptions = {
  ...common,
  redirectUri: "https://app.example/",
  mode,
  signal: new AbortController().signal,
  timeoutMs: 60_000,
  popupFeatures: "popup=yes,width=480,height=720",
};
const signOutOptions: SignOutOptions = { ...common, apiKey: "kw_at_example" };

// @ts-expect-error: unknown mode
const badMode: RequestOpenAIAPIOptions = { mode: "iframe" };
// @ts-expect-error: unknown storage
const badStorage: KeywardOptions = { storage: "cookie" };
// @ts-expect-error: the result promises dangerouslyAllowBrowser: true, never false
const badAccess: OpenAIAPIAccess = { apiKey: "k", baseURL: "u", dangerouslyAllowBrowser: false };

function useAccess(access: OpenAIAPIAccess): OpenAIClientOptionsSubset {
  const key: string = access.apiKey;
  const baseURL: string = access.baseURL;
  const allow: true = access.dangerouslyAllowBrowser;
  return { apiKey: key, baseURL, dangerouslyAllowBrowser: allow };
}

export async function example(): Promise<void> {
  const noArgs: Promise<OpenAIAPIAccess> = requestOpenAIAPI();
  useAccess(await noArgs);
  useAccess(await requestOpenAIAPI(requestOptions));

  const fromRedirect: OpenAIAPIAccess | null = await handleRedirectCallback();
  if (fromRedirect) useAccess(fromRedirect);
  await handleRedirectCallback("https://app.example/?code=x&state=y");
  await handleRedirectCallback(new URL("https://app.example/?error=access_denied&state=y"));

  const cached: OpenAIAPIAccess | null = getCachedOpenAIAPI();
  if (cached) useAccess(cached);
  getCachedOpenAIAPI(common);

  const done: Promise<void> = signOut();
  await done;
  await signOut(signOutOptions);

  try {
    await requestOpenAIAPI({ signal: AbortSignal.timeout(1000) });
  } catch (err) {
    if (err instanceof PopupBlockedError) await requestOpenAIAPI({ mode: "redirect" });
    else if (err instanceof AccessDeniedError) console.log(err.code, err.description);
    else if (err instanceof PopupClosedError) console.log(err.message);
    else if (err instanceof TimeoutError) console.log(err.name);
    else if (err instanceof KeywardError) {
      const code: string = err.code;
      const description: string | undefined = err.description;
      console.log(code, description);
    }
  }

  const errors: KeywardError[] = [
    new KeywardError("invalid_scope", "message"),
    new KeywardError("invalid_scope", "message", { description: "d", cause: new Error("c") }),
    new PopupBlockedError(),
    new AccessDeniedError(),
    new AccessDeniedError("declined"),
    new PopupClosedError(),
    new TimeoutError(1000),
  ];
  const asErrors: Error[] = errors;
  console.log(asErrors, badMode, badStorage, badAccess);
}
