// Expected values for the loader and evaluator tests, computed by test/tasks/senteval_reference.py
// (SentEval's reading rules re-implemented in Python, scipy.stats and numpy.average) on ../shared/data/senteval.
// Regenerate: cd ../shared/data/senteval && python3 <repo>/test/tasks/senteval_reference.py

export interface PairRef { count: number; first: [string, string, number]; last: [string, string, number] }
export interface TaskRef {
  firstLast: Record<string, PairRef>;
  /** Jaccard word-overlap predictions scored by scipy: per scored subset, then pooled and averaged. */
  subsets: Record<string, { n: number; spearman: number; pearson: number }>;
  all: { spearman: number; pearson: number };
  mean: { spearman: number; pearson: number };
  wmean: { spearman: number; pearson: number };
  uniqueSentences: number;
  rankError?: { first5: number[]; mean: number; max: number; argmax: number };
}

export const SENTEVAL_REF: Record<string, TaskRef> = {
 "STS12": {
  "subsets": {
   "MSRpar": {
    "n": 750,
    "spearman": 0.5056979559681523,
    "pearson": 0.5221090435440691
   },
   "MSRvid": {
    "n": 750,
    "spearman": 0.4598029939433595,
    "pearson": 0.4351799389967687
   },
   "SMTeuroparl": {
    "n": 459,
    "spearman": 0.5574386230829833,
    "pearson": 0.45737156809788854
   },
   "surprise.OnWN": {
    "n": 750,
    "spearman": 0.6546005883984768,
    "pearson": 0.6312185624889596
   },
   "surprise.SMTnews": {
    "n": 399,
    "spearman": 0.4008506148799808,
    "pearson": 0.39302058385197236
   }
  },
  "firstLast": {
   "MSRpar": {
    "count": 750,
    "first": [
     "the problem likely will mean corrective changes before the shuttle fleet starts flying again .",
     "he said the problem needs to be corrected before the space shuttle fleet is cleared to fly again .",
     4.4
    ],
    "last": [
     "a 25 percent increase would raise undergraduate tuition to about $ 5,247 annually , including miscellaneous , campus-based fees .",
     "the 25 percent hike takes annual uc undergraduate tuition to $ 4,794 and graduate fees to $ 5,019 .",
     2.5
    ]
   },
   "MSRvid": {
    "count": 750,
    "first": [
     "a man with a hard hat is dancing .",
     "a man wearing a hard hat is dancing .",
     5.0
    ],
    "last": [
     "a woman is slicing big pepper .",
     "a dog is moving its mouth .",
     0.0
    ]
   },
   "SMTeuroparl": {
    "count": 459,
    "first": [
     "the leaders have now been given a new chance and let us hope they seize it .",
     "the leaders benefit aujourd ' hui of a new luck and let 's let them therefore seize it .",
     4.5
    ],
    "last": [
     "we often pontificate here about being the representatives of the citizens of europe .",
     "we often take pride here to represent the citizens of europe .",
     3.833
    ]
   },
   "surprise.OnWN": {
    "count": 750,
    "first": [
     "render one language in another language",
     "restate ( words ) from one language into another language .",
     5.0
    ],
    "last": [
     "draw advantages from ; take advantage .",
     "draw advantages from .",
     3.75
    ]
   },
   "surprise.SMTnews": {
    "count": 399,
    "first": [
     "last year he was wanted for murder .",
     "last year it was sought to murder .",
     4.0
    ],
    "last": [
     "he did , but the initiative did not get very far .",
     "what it did without the initiative not going very far .",
     3.5
    ]
   }
  },
  "all": {
   "spearman": 0.43015175380205395,
   "pearson": 0.4086784456174106
  },
  "mean": {
   "spearman": 0.5156781552545906,
   "pearson": 0.4877799393959316
  },
  "wmean": {
   "spearman": 0.5247361251816902,
   "pearson": 0.5013286426918326
  },
  "uniqueSentences": 4946
 },
 "STS13": {
  "subsets": {
   "FNWN": {
    "n": 189,
    "spearman": 0.2755740477853104,
    "pearson": 0.2594537951965492
   },
   "headlines": {
    "n": 750,
    "spearman": 0.6559562052088421,
    "pearson": 0.6471072176116837
   },
   "OnWN": {
    "n": 561,
    "spearman": 0.35474295755538493,
    "pearson": 0.3301051580701999
   }
  },
  "firstLast": {
   "FNWN": {
    "count": 189,
    "first": [
     "there exist a number of different possible events that may happen in the future. in most cases , there is an agent involved who has to consider which of the possible events will or should occur. a salient _ entity which is deeply involved in the event may also be mentioned .",
     "doing as one pleases or chooses ;",
     0.6
    ],
    "last": [
     "a competition comes to an end , with a competitor tying , winning , or losing against an opponent ( or opponents ) according to their score . ( in the symmetrical situation of a tie , the competitor and opponent may be jointly mentioned as competitors . ) according to the score that the competitor and opponent have achieved , they may receive a rank or a prize. the margin may also be mentioned .",
     "finish third or better in a horse or dog race ;",
     1.2
    ]
   },
   "headlines": {
    "count": 750,
    "first": [
     "drug lord captured by marines in mexico",
     "suspected drug lord known as ‘ el taliban ’ held in mexico",
     2.6
    ],
    "last": [
     "barrick in talks with china firm over african assets",
     "obama aide holds talks in china after syria veto",
     1.2
    ]
   },
   "OnWN": {
    "count": 561,
    "first": [
     "measure the depth of a body of water",
     "any large deep body of water .",
     0.8
    ],
    "last": [
     "make keen ; give ( new ) life or energy to",
     "give new life or energy to .",
     3.8
    ]
   }
  },
  "all": {
   "spearman": 0.48886200608259917,
   "pearson": 0.4970631835176505
  },
  "mean": {
   "spearman": 0.4287577368498458,
   "pearson": 0.4122220569594776
  },
  "wmean": {
   "spearman": 0.4953742987510841,
   "pearson": 0.47970411611886177
  },
  "uniqueSentences": 2638
 },
 "STS14": {
  "subsets": {
   "deft-forum": {
    "n": 450,
    "spearman": 0.403588605923041,
    "pearson": 0.42063238663412184
   },
   "deft-news": {
    "n": 300,
    "spearman": 0.5920361067806365,
    "pearson": 0.5898943649347476
   },
   "headlines": {
    "n": 750,
    "spearman": 0.6082956027718202,
    "pearson": 0.6051932260344547
   },
   "images": {
    "n": 750,
    "spearman": 0.6414895725146763,
    "pearson": 0.6283199612610422
   },
   "OnWN": {
    "n": 750,
    "spearman": 0.5489755177974317,
    "pearson": 0.49877945908619276
   },
   "tweet-news": {
    "n": 750,
    "spearman": 0.7237636460890982,
    "pearson": 0.7102345863434333
   }
  },
  "firstLast": {
   "deft-forum": {
    "count": 450,
    "first": [
     "how about some testimonies from real health experts ?",
     "also , who 's to say there aren 't testimonies from \" real \" health experts on there ?",
     3.0
    ],
    "last": [
     "my final word : ignoring has the effect of normalizing .",
     "taking advantage has the effect of reinforcing .",
     0.4
    ]
   },
   "deft-news": {
    "count": 300,
    "first": [
     "mexico wishes to guarantee citizens ' safety .",
     "mexico wishes to avoid more violence .",
     4.0
    ],
    "last": [
     "this further aggravated the situation .",
     "north korea should not act further to aggravate the situation .",
     2.0
    ]
   },
   "headlines": {
    "count": 750,
    "first": [
     "mall attackers used ' less is more ' strategy",
     "in kenya , attackers used ' less is more ' strategy",
     3.0
    ],
    "last": [
     "police question man in deadly la boardwalk crash",
     "police arrest suspect in deadly la driving attack",
     2.2
    ]
   },
   "images": {
    "count": 750,
    "first": [
     "a cat standing on tree branches .",
     "a black and white cat is high up on tree branches .",
     3.6
    ],
    "last": [
     "a small brown birds is eating from a bird feeder hanging from a tree .",
     "a small red and grey bird perched in a tree .",
     2.0
    ]
   },
   "OnWN": {
    "count": 750,
    "first": [
     "the activity of learning or being trained",
     "the gradual process of acquiring knowledge .",
     4.0
    ],
    "last": [
     "put up with something unpleasant",
     "put up with something or somebody unpleasant .",
     4.26666666666667
    ]
   },
   "tweet-news": {
    "count": 750,
    "first": [
     "global online # education is a key to democratizing access to learning and overcoming societal ills such as poverty -",
     "op-ed columnist : revolution hits the universities",
     0.6
    ],
    "last": [
     "daily review : selected letters of william styron # review",
     "? selected letters of william styron ?",
     4.0
    ]
   }
  },
  "all": {
   "spearman": 0.511789185879712,
   "pearson": 0.5037418538684401
  },
  "mean": {
   "spearman": 0.586358175312784,
   "pearson": 0.5755089973823321
  },
  "wmean": {
   "spearman": 0.6002983890878211,
   "pearson": 0.586172882135899
  },
  "uniqueSentences": 6351
 },
 "STS15": {
  "subsets": {
   "answers-forums": {
    "n": 375,
    "spearman": 0.47349794186399946,
    "pearson": 0.5231040197080574
   },
   "answers-students": {
    "n": 750,
    "spearman": 0.7187581298972391,
    "pearson": 0.6989674152980266
   },
   "belief": {
    "n": 375,
    "spearman": 0.629557496508985,
    "pearson": 0.653419097494406
   },
   "headlines": {
    "n": 750,
    "spearman": 0.6958896766327933,
    "pearson": 0.6780966306177906
   },
   "images": {
    "n": 750,
    "spearman": 0.6857751861395721,
    "pearson": 0.6720200139172577
   }
  },
  "firstLast": {
   "answers-forums": {
    "count": 375,
    "first": [
     "you 'll need to check the particular policies of each publisher to see what is allowed and what is not allowed .",
     "if you need to publish the book and you have found one publisher that allows it .",
     3.0
    ],
    "last": [
     "i have been doing a lot of my outlining / pre-writing work in workflowy .",
     "am i allowed to beat the drum for scrivener again ?",
     0.2
    ]
   },
   "answers-students": {
    "count": 750,
    "first": [
     "\" the electrical state at the terminal matches the battery \" \" s electrical state \"",
     "terminal 1 is connected to the negative battery terminal",
     1.8
    ],
    "last": [
     "it was seperated by a gap from terminal 3",
     "terminal 3 and the positive terminal are separated by the gap",
     3.8
    ]
   },
   "belief": {
    "count": 375,
    "first": [
     "hollywood will be required occasionally to cast english actors as good guys .",
     "hollywood will also be required to cast english actors to play english characters .",
     2.7
    ],
    "last": [
     "the obama administration ?",
     "the resolution was opposed by the obama administration .",
     1.6
    ]
   },
   "headlines": {
    "count": 750,
    "first": [
     "the foundations of south africa are built on nelson mandela 's memory",
     "australian politicians lament over nelson mandela 's death",
     1.3
    ],
    "last": [
     "obama made last-minute decision on syria approval",
     "obama mulls limited military action in syria",
     2.0
    ]
   },
   "images": {
    "count": 750,
    "first": [
     "a pair of dogs playing with a purple ball .",
     "two dogs play with purple football .",
     4.4
    ],
    "last": [
     "a young girl dressed in a minnie mouse outfit and an older woman walking down the sidewalk .",
     "a man wearing a white suit holding a newspaper walking through the streets .",
     1.0
    ]
   }
  },
  "all": {
   "spearman": 0.6747297440088217,
   "pearson": 0.6699727081095244
  },
  "mean": {
   "spearman": 0.6406956862085178,
   "pearson": 0.6451214354071076
  },
  "wmean": {
   "spearman": 0.6629876779640242,
   "pearson": 0.6593364046085767
  },
  "uniqueSentences": 5170
 },
 "STS16": {
  "subsets": {
   "answer-answer": {
    "n": 254,
    "spearman": 0.5321078757152217,
    "pearson": 0.5565755453402206
   },
   "headlines": {
    "n": 249,
    "spearman": 0.6976195087813557,
    "pearson": 0.6956301131430456
   },
   "plagiarism": {
    "n": 230,
    "spearman": 0.7818513281564682,
    "pearson": 0.7310929712267255
   },
   "postediting": {
    "n": 244,
    "spearman": 0.8185262323547571,
    "pearson": 0.8228400139599877
   },
   "question-question": {
    "n": 209,
    "spearman": 0.07369201286971411,
    "pearson": 0.09636639707180816
   }
  },
  "firstLast": {
   "answer-answer": {
    "count": 254,
    "first": [
     "i remained under the banyan tree , exhausted by my daily ritual of dragooning the men every two hours .",
     "i remained under the banyan tree , exhausted by my daily ritual of herding the cats every two hours .",
     3.0
    ],
    "last": [
     "this is a terrible idea .",
     "this is a bad idea .",
     5.0
    ]
   },
   "headlines": {
    "count": 249,
    "first": [
     "driver backs into stroller with child , drives off",
     "driver backs into mom , stroller with child then drives off",
     4.0
    ],
    "last": [
     "new video shows us police officers beating mentally-ill man",
     "new york police officer critically wounded in hatchet attack",
     0.0
    ]
   },
   "plagiarism": {
    "count": 230,
    "first": [
     "vector space representation results in the loss of the order which the terms are in the document .",
     "if a term occurs in the document , the value will be non-zero in the vector .",
     1.0
    ],
    "last": [
     "this means that inheritance is used when types have common factors and these would be put into the superclass .",
     "the method can be abused when people deliberately link to sites in order to raise a site 's pagerank .",
     0.0
    ]
   },
   "postediting": {
    "count": 244,
    "first": [
     "\" it would be a mistake to underestimate her .",
     "\" it would be a mistake to the underestimate .",
     3.0
    ],
    "last": [
     "the work has just started , and there is still much to do in the two countries ' .",
     "in the end , read the mangas , that is what i prefer already for years .",
     0.0
    ]
   },
   "question-question": {
    "count": 209,
    "first": [
     "how do i make a height adjustable desk ?",
     "how can i build a wall mounted adjustable height desk ?",
     4.0
    ],
    "last": [
     "what could be wrong with my furnace ?",
     "what is wrong with my gas furnace ?",
     4.0
    ]
   }
  },
  "all": {
   "spearman": 0.5747717750074154,
   "pearson": 0.5850579516087866
  },
  "mean": {
   "spearman": 0.5807593915755034,
   "pearson": 0.5805010081483575
  },
  "wmean": {
   "spearman": 0.5934321205552635,
   "pearson": 0.5932942752659578
  },
  "uniqueSentences": 1867
 },
 "STSBenchmark": {
  "subsets": {
   "test": {
    "n": 1379,
    "spearman": 0.5182738650385577,
    "pearson": 0.522936143822834
   }
  },
  "firstLast": {
   "train": {
    "count": 5749,
    "first": [
     "a plane is taking off .",
     "an air plane is taking off .",
     5.0
    ],
    "last": [
     "putin spokesman : doping charges appear unfounded",
     "the latest on severe weather : 1 dead in texas after tornado",
     0.0
    ]
   },
   "dev": {
    "count": 1500,
    "first": [
     "a man with a hard hat is dancing .",
     "a man wearing a hard hat is dancing .",
     5.0
    ],
    "last": [
     "new video shows us police officers beating mentally-ill man",
     "new york police officer critically wounded in hatchet attack",
     0.0
    ]
   },
   "test": {
    "count": 1379,
    "first": [
     "a girl is styling her hair .",
     "a girl is brushing her hair .",
     2.5
    ],
    "last": [
     "south korea declares end to mers outbreak",
     "north korea delegation meets with south korean officials",
     0.0
    ]
   }
  },
  "all": {
   "spearman": 0.5182738650385577,
   "pearson": 0.522936143822834
  },
  "mean": {
   "spearman": 0.5182738650385577,
   "pearson": 0.522936143822834
  },
  "wmean": {
   "spearman": 0.5182738650385577,
   "pearson": 0.522936143822834
  },
  "uniqueSentences": 2551,
  "rankError": {
   "first5": [
    0.5192168237853517,
    0.12835387962291517,
    0.2480058013052937,
    0.012690355329949238,
    0.6566352429296591
   ],
   "mean": 0.22059000621042565,
   "max": 0.8828861493836113,
   "argmax": 95
  }
 },
 "SICKRelatedness": {
  "subsets": {
   "test": {
    "n": 4927,
    "spearman": 0.5416975356213273,
    "pearson": 0.5515325228923112
   }
  },
  "firstLast": {
   "train": {
    "count": 4500,
    "first": [
     "A group of kids is playing in a yard and an old man is standing in the background",
     "A group of boys in a yard is playing and a man is standing in the background",
     4.5
    ],
    "last": [
     "Three dogs are resting on a sidewalk",
     "The woman with a knife is slicing a pepper",
     1.0
    ]
   },
   "dev": {
    "count": 500,
    "first": [
     "The young boys are playing outdoors and the man is smiling nearby",
     "There is no boy playing outdoors and there is no man smiling",
     3.6
    ],
    "last": [
     "A young man is pushing a motocross bike down a dirt hill",
     "A dog is swimming after a tennis ball",
     1.0
    ]
   },
   "test": {
    "count": 4927,
    "first": [
     "There is no boy playing outdoors and there is no man smiling",
     "A group of kids is playing in a yard and an old man is standing in the background",
     3.3
    ],
    "last": [
     "A man is in a parking lot and is playing tennis against a large wall",
     "The snowboarder is leaping fearlessly over white snow",
     1.0
    ]
   }
  },
  "all": {
   "spearman": 0.5416975356213273,
   "pearson": 0.5515325228923112
  },
  "mean": {
   "spearman": 0.5416975356213273,
   "pearson": 0.5515325228923112
  },
  "wmean": {
   "spearman": 0.5416975356213273,
   "pearson": 0.5515325228923112
  },
  "uniqueSentences": 5007
 }
};

/** mulberry32 + Fisher-Yates + scipy spearmanr, in Python, on correlation-goldens.json case 3 (n = 1379; gold = y, pred = x). */
export const GROUP_REF = {
 "mulberry32_1111_first3": [
  0.7801088837441057,
  0.9308451297692955,
  0.23208353179506958
 ],
 "perm10_seed1111": [
  0,
  5,
  9,
  2,
  3,
  6,
  4,
  1,
  8,
  7
 ],
 "fixture1379_g100_s1111": [
  0.6934342838442465,
  0.6098656467382657,
  0.662940547640069,
  0.5547090411934993,
  0.6014054026508758,
  0.7024995293146502,
  0.5892468437210524,
  0.5715053107862428,
  0.5707866270625399,
  0.6211990831110871,
  0.6521087885719259,
  0.74314681087114,
  0.6571610180396601
 ],
 "fixture1379_g250_s7": [
  0.6423558122263556,
  0.597233460293293,
  0.6342406235335785,
  0.6506397118027456,
  0.6779895310432379
 ]
};
