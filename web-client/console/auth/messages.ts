/** What the sign-in and enrollment screens say for the gateway's sign-in error codes. */
export const SIGN_IN_MESSAGES: Readonly<Record<string, string>> = {
  invalid_credentials: 'Username, password or code is not correct.',
  too_many_attempts: 'Too many attempts. Wait a few minutes, then try again.',
  rate_limited: 'Too many attempts. Wait a few minutes, then try again.',
  invalid_code: 'The code is not correct, or was already used. Wait for the next code and try again.',
  challenge_invalid: 'Sign-in took too long. Start again.',
  validation_failed: 'Check the username, password and code.',
};
