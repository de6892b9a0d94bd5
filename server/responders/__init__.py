"""The responder's closed loop: a link by SMS to a small mobile page that stamps each stage."""
