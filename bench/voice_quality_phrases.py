"""The texts bench/voice_quality.py speaks and classifies. Written for the bench and never
used to tune the agent (its examples and thresholds live in botruntime/script.py and
botruntime/intents.py and were set against other phrases)."""

# (what the caller says, the disposition the agent should reach; "" = none, it asks again)
SPOKEN = [
    ("Yes, I am interested. Tell me more.", "interested"),
    ("That sounds good, yes please.", "interested"),
    ("Sure, go ahead.", "interested"),
    ("Okay, I would like to hear about the offer.", "interested"),
    ("Yeah, why not, what do you have?", "interested"),
    ("No thanks, I am not interested.", "not_interested"),
    ("No, I don't want it.", "not_interested"),
    ("I am happy with my current plan, thank you.", "not_interested"),
    ("Not for me, thanks.", "not_interested"),
    ("We are fine as we are.", "not_interested"),
    ("I am busy right now. Please call me back tomorrow at ten.", "callback_requested"),
    ("Can you call me later this afternoon?", "callback_requested"),
    ("I am at work, try again on Monday morning.", "callback_requested"),
    ("Call me back next week please.", "callback_requested"),
    ("This is a bad time, I am driving.", "callback_requested"),
    ("You have the wrong number.", "wrong_number"),
    ("There is nobody called Dana here.", "wrong_number"),
    ("Sorry, wrong person.", "wrong_number"),
    ("I think you dialed the wrong number.", "wrong_number"),
    ("Please do not call me again. Remove me from your list.", "do_not_call"),
    ("Stop calling me.", "do_not_call"),
    ("Take my number off your list.", "do_not_call"),
    ("Never call this number again.", "do_not_call"),
    ("I want to be removed from your calling list.", "do_not_call"),
    ("Hello, who is this?", ""),
    ("Okay, thank you, goodbye.", ""),
]

# Held-out paraphrases, text only: keywords alone against keywords plus meaning.
PARAPHRASES = {
    "interested": [
        "that would be lovely", "go on then", "I'm all ears", "please tell me about it",
        "alright, let's hear the details", "yes, I'd like to know more", "it could be worth a look",
        "I might be up for that", "definitely, what's the deal", "sounds like a plan",
        "oh nice, what do I get", "I'm keen", "you have my attention", "sign me up",
        "please continue", "I'd be happy to listen", "fine, explain it to me",
        "that's exactly what I need", "great, send me the information", "I would love that",
        "ok I'm curious", "wonderful, carry on",
    ],
    "not_interested": [
        "I'm not after anything like that", "thanks but no thanks", "I'll give it a miss",
        "we're not buying", "I really don't care for it", "that's not something I want",
        "I'm all set, thank you", "don't bother, I won't buy it", "I have everything I need",
        "I'm going to decline", "nope", "not my thing", "I would rather not",
        "we already have a provider", "I can't afford it and don't want it", "absolutely not",
        "please don't try to sell me anything", "I'm satisfied with what we've got",
        "I'll pass on that one", "I do not want your offer", "no way", "not a chance",
    ],
    "callback_requested": [
        "could you phone again in an hour", "I'm cooking dinner, ring me tonight",
        "can we do this another day", "I'm just about to go into surgery, try later",
        "reach me on Wednesday afternoon", "I'm on the other line", "catch me at the weekend",
        "I'm putting the kids to bed, call me in the morning", "now isn't convenient",
        "I've got my hands full at the moment", "try me again after five",
        "I'm out shopping, can you call back", "give me a ring on Thursday",
        "I'm in the middle of something", "let's talk some other time",
        "ring back around noon", "I'm at the doctor's, call me tomorrow",
        "please phone me next Tuesday", "I can't chat now, maybe this evening",
        "I'm heading out, get back to me later", "I'm in class right now", "another time please",
    ],
    "wrong_number": [
        "there's no Dana at this number", "I don't know anyone by that name",
        "you've reached the wrong house", "this isn't who you think it is",
        "you must have dialed incorrectly", "no Dana lives here",
        "I think you've got me confused with someone",
        "this phone belongs to somebody else", "wrong guy, sorry", "never heard of that person",
        "you've mixed up the numbers", "that's not me", "she moved away years ago",
        "this is a business line, not a person", "I just got this number last month",
        "nobody here goes by that name", "he doesn't live here anymore",
        "you've got the wrong Dana", "I'm not the person you're looking for",
        "there's been a mistake, this isn't her phone", "you called the wrong line",
        "that name means nothing to me",
    ],
    "do_not_call": [
        "delete my number from your records", "don't ever ring me again",
        "I want off your call list", "quit calling this phone", "I never want to hear from you again",
        "put me on your do not call register", "I'm reporting you if this continues",
        "take me out of your database", "no more calls please", "lose this number",
        "stop phoning me every day", "I don't consent to these calls", "unsubscribe me now",
        "erase my details", "cease contacting me", "block me from your system",
        "I've asked you before, stop ringing", "I don't want any further calls",
        "scrub my number from your list", "you need to stop contacting me",
        "leave me alone and don't call back", "never dial this number again",
    ],
}

# Turns with a pause inside: (before the pause, after it). The first part alone sounds
# unfinished; a turn ended in the pause cuts the caller off mid-sentence.
PAUSED = [
    ("I am busy right now, so", "please call me back tomorrow."),
    ("Well, I was thinking that", "I would like to hear more."),
    ("The thing is", "I am not interested."),
    ("If you could", "call me back on Monday."),
    ("I would rather you", "did not call me again."),
    ("Let me just say that", "you have the wrong number."),
    ("Maybe if it is", "cheaper, tell me more."),
    ("My husband usually", "handles that, call later."),
]
# And turns that end where the speech ends, for the latency of an ordinary reply.
COMPLETE = [
    "No thanks, I am not interested.", "Yes, tell me more.", "Please stop calling me.",
    "You have the wrong number.", "Call me back tomorrow.", "Sure, that sounds good.",
]

# Phrases for setting the meaning thresholds and method (botruntime/intents.py), written
# apart from PARAPHRASES and from the rules' examples (botruntime/exemplars.py); "" = the
# agent should not reach a disposition (it asks again, or says who is calling).
TUNING = {
    "interested": [
        "yeah okay, what is it", "I suppose I could hear you out", "that might suit me",
        "right, tell me what it involves", "what kind of deal is it", "I'm in", "go for it",
        "yes, that's something I've wanted", "what would it cost me per month", "ok let's do it",
        "interesting, keep going", "I like the sound of that",
    ],
    "not_interested": [
        "I'm fine thanks", "that's not what I'm after", "we'll stick with what we have",
        "money's too tight for that", "I really have no interest", "please don't, I don't want it",
        "not for us, thanks", "I'll decline, thank you", "I'm not in the market for that",
        "none for me", "I don't think I'll bother", "really not something I need",
    ],
    "callback_requested": [
        "I'm at the dentist, try again later on", "can you phone around six",
        "now's really not great, try Friday", "I'm feeding the baby", "I'm in the shower",
        "could you get back to me on the weekend", "I'm in a rush, another day maybe",
        "I'm on a train, call this evening", "ring me after the school run",
        "I'm working until five", "it's not a good moment", "try me again in the morning",
    ],
    "wrong_number": [
        "nobody by that name here", "I think you've got the wrong household",
        "that's not who I am", "you've reached someone else", "I'm afraid you have the wrong line",
        "I don't know a Dana", "this has been my number for years, no Dana",
        "there's no person like that here", "the person you want isn't at this number",
        "I'm not Dana", "never heard of her", "wrong one, sorry",
    ],
    "do_not_call": [
        "remove me from all your lists", "don't you dare call again", "stop dialing me",
        "I want these calls to end", "I'm sick of these calls, stop", "take this number off",
        "I don't want to receive calls from you", "this is the third time, stop it",
        "never contact this number", "I'll call the authorities if this goes on",
        "no further contact please", "get rid of my number",
    ],
    "": [
        "hello", "can you hear me", "sorry, the line is bad", "what did you say", "hang on",
        "pardon", "who is it", "what's this regarding", "is anybody there", "what time is it",
        "one moment please", "could you repeat that",
    ],
}

# A second held-out set, written (2 December 2026) before the intent changes that followed
# reading PARAPHRASES' misses: those changes were judged on TUNING and on this set's totals
# only, never on its single phrases, so it stays held out where PARAPHRASES, whose errors
# were read, no longer fully is.
FRESH_PARAPHRASES = {
    "interested": [
        "yes, I'd be glad to hear it", "okay, you've got two minutes", "what's in it for me",
        "sounds tempting, go on", "sure thing, fire away", "I was hoping someone would call about this",
        "yeah I could use that", "tell me what you've got", "that's good timing actually",
        "how soon could I get it", "right, I'm listening", "yes, explain the offer",
        "that appeals to me", "I'd consider it", "let's hear it then", "cool, what are the details",
    ],
    "not_interested": [
        "no, we're fine", "I'm not keen", "it's a no from me", "I don't really want that",
        "not something we'd use", "I'm happy as I am", "we have no need of it", "I'll say no thanks",
        "honestly I'm not bothered", "not at the moment, and not later either", "that doesn't interest me",
        "I'm sticking with my current one", "nah, I'm good", "I won't be signing up",
        "it's too expensive for me", "I really don't need it",
    ],
    "callback_requested": [
        "could you try me tomorrow", "I'm walking into a meeting, call later",
        "I'm on my lunch break, ring at two",
        "this evening would be better", "I'm in the car right now", "can you call at the end of the week",
        "I'm busy with the kids, another day", "now's a bad moment, try again soon",
        "I'm at the hospital, call me another time", "ring me in twenty minutes", "can we speak on Saturday",
        "I'm with someone, phone back later", "I'm just sitting down to dinner", "give me an hour",
        "try again after the weekend", "I'm stuck at work, call me tonight",
    ],
    "wrong_number": [
        "nobody called Dana lives here", "you've got the wrong number, mate", "I'm not Dana, sorry",
        "there's no one here by that name", "this isn't Dana's phone", "Dana? never heard of them",
        "that's not anyone in this house", "you've dialled a stranger",
        "I've had this number for ages, no Dana",
        "wrong household", "the person you want doesn't live here", "I don't know who that is, sorry",
        "you have reached the wrong person", "no, that's someone else", "there's nobody of that name here",
        "I think you mean someone else",
    ],
    "do_not_call": [
        "stop calling this number", "take my name off your list", "don't call me anymore",
        "I want you to stop phoning", "remove this number please", "I'm on the do not call list",
        "never phone me again", "please stop these calls", "I don't want you calling here",
        "I'll report this number", "quit ringing me", "delete my phone number",
        "do not contact me again", "no more calls from you", "I've told you to stop calling",
        "leave this number alone",
    ],
}
