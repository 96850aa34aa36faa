"""Human approval: a run pauses before a tool call (or an `ask_user` question) until its user
answers, on any channel, or the wait times out."""
