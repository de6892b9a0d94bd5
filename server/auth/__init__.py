"""Who people are and how they prove it: users and roles, password checks, bearer tokens,
browser sessions, CSRF and login throttling. No HTTP here: the login API and pages are in
server/accounts/."""
