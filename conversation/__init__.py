"""The bot: what buyers type becomes a state change and one reply.

parsing.py   what buyers type (commands, greetings, numbers, quantities, yes/no), pure functions
replies.py   every word the bot says (gettext; Spanish in locale/es), refusals worded by their
             code, shaped for WhatsApp's limits
actions.py   the ids carried by buttons and list rows ("confirm:42")
machine.py   the state machine: (state, context, message) -> (state, context, reply)
inventory.py the narrow interface to the raffles services the machine uses
handler.py   settings.WHATSAPP_INBOUND_HANDLER: load, decide, store, queue the reply
answering.py whose message is being answered, so notifications stay quiet about it
notifications.py  operator and system changes told to buyers (raffles signals)
proof_files.py    a payment proof's file, attached once the transport has downloaded it
reminders.py one reminder before a payment deadline (`remind_pending_orders`, every minute)
selectors.py read-only queries of the bot's own (who is due a reminder)
services.py  changes of the bot's memory other parts may ask for (reset to MENU)
management/commands/chat.py  `manage.py chat`: talk to the bot in a terminal
"""
