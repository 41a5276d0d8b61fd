"""What the chatbot services share: settings base, logging, errors, user tokens, metrics."""
