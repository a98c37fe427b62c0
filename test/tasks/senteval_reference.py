# Reference values for test/tasks/senteval-expected.ts: SentEval's reading rules (SimCSE's fork, sts.py)
# written out in Python, scipy.stats for the correlations, numpy.average for mean/wmean.
# Run from ../shared/data/senteval: python3 <repo>/test/tasks/senteval_reference.py
# Prints {"SENTEVAL_REF": ..., "GROUP_REF": ...}.
import io, json, os, numpy as np
from scipy.stats import spearmanr, pearsonr, rankdata
R='.'
tasks = {'STS12':['MSRpar','MSRvid','SMTeuroparl','surprise.OnWN','surprise.SMTnews'],'STS13':['FNWN','headlines','OnWN'],'STS14':['deft-forum','deft-news','headlines','images','OnWN','tweet-news'],'STS15':['answers-forums','answers-students','belief','headlines','images'],'STS16':['answer-answer','headlines','plagiarism','postediting','question-question']}
def sts(t,d):
  fp=f'{R}/STS/{t}-en-test'
  s1,s2=zip(*[l.split('\t') for l in io.open(fp+f'/STS.input.{d}.txt',encoding='utf8').read().splitlines()])
  raw=np.array(io.open(fp+f'/STS.gs.{d}.txt',encoding='utf8').read().splitlines())
  ne=raw!=''
  g=[float(x) for x in raw[ne]]
  a=[' '.join(s.split()) for s,k in zip(s1,ne) if k]; b=[' '.join(s.split()) for s,k in zip(s2,ne) if k]
  return list(zip(a,b,g))
def table(p,c1,c2,cg,skip):
  out=[]
  with io.open(p,'r',encoding='utf-8') as f:
    for i,line in enumerate(f):
      if skip and i==0: continue
      t=line.strip().split('\t'); out.append((' '.join(t[c1].split()),' '.join(t[c2].split()),float(t[cg])))
  return out
data={}
for t,ds in tasks.items(): data[t]=[(d,sts(t,d)) for d in ds]
data['STSBenchmark']=[(s,table(f'{R}/STS/STSBenchmark/sts-{s}.csv',5,6,4,False)) for s in ['train','dev','test']]
data['SICKRelatedness']=[(s,table(f'{R}/SICK/SICK_{f}.txt',1,2,3,True)) for s,f in [('train','train'),('dev','trial'),('test','test_annotated')]]
def jac(a,b):
  A=set(a.split(' ')); B=set(b.split(' '))
  return len(A&B)/len(A|B)
out={}
for t,subs in data.items():
  scored=[(n,p) for n,p in subs if t.startswith('STS1') or n=='test']
  res={'subsets':{},'firstLast':{}}
  for n,p in subs:
    res['firstLast'][n]={'count':len(p),'first':p[0],'last':p[-1]}
  allp=[];allg=[];sp=[];pr=[];w=[]
  for n,p in scored:
    pred=[jac(a,b) for a,b,g in p]; gold=[g for a,b,g in p]
    s=spearmanr(pred,gold)[0]; r=pearsonr(pred,gold)[0]
    res['subsets'][n]={'n':len(p),'spearman':s,'pearson':r}
    sp.append(s);pr.append(r);w.append(len(p)); allp+=pred; allg+=gold
  res['all']={'spearman':spearmanr(allp,allg)[0],'pearson':pearsonr(allp,allg)[0]}
  res['mean']={'spearman':np.average(sp),'pearson':np.average(pr)}
  res['wmean']={'spearman':np.average(sp,weights=w),'pearson':np.average(pr,weights=w)}
  res['uniqueSentences']=len(set(x for _,p in scored for a,b,g in p for x in (a,b)))
  if t=='STSBenchmark':
    # sentence-level reference: rank error = |rank(pred)-rank(gold)|/n, average ranks
    pred=np.array(allp); gold=np.array(allg); n=len(gold)
    re=np.abs(rankdata(pred)-rankdata(gold))/n
    res['rankError']={'first5':re[:5].tolist(),'mean':float(re.mean()),'max':float(re.max()),'argmax':int(re.argmax())}
  out[t]=res

def mulberry32(seed):
  a=[seed & 0xffffffff]
  def imul(x,y): return (x*y) & 0xffffffff
  def rnd():
    a[0]=(a[0]+0x6D2B79F5) & 0xffffffff
    t=a[0]
    t=imul(t ^ (t>>15), t | 1)
    t=((t + imul(t ^ (t>>7), t | 61)) & 0xffffffff) ^ t
    return ((t ^ (t>>14)) & 0xffffffff)/4294967296
  return rnd
def perm(n,seed):
  o=list(range(n)); r=mulberry32(seed)
  for i in range(n-1,0,-1):
    j=int(r()*(i+1)); o[i],o[j]=o[j],o[i]
  return o
def groups(gold,pred,size,seed):
  o=perm(len(gold),seed)
  return [spearmanr([pred[i] for i in o[k:k+size]],[gold[i] for i in o[k:k+size]])[0] for k in range(0,len(o)-size+1,size)]
r=mulberry32(1111); first=[r() for _ in range(3)]
fx=json.load(open('../../fixtures/correlation-goldens.json'))['cases'][3]
print(json.dumps({'SENTEVAL_REF':out,'GROUP_REF':{'mulberry32_1111_first3':first,'perm10_seed1111':perm(10,1111),'fixture1379_g100_s1111':groups(fx['y'],fx['x'],100,1111),'fixture1379_g250_s7':groups(fx['y'],fx['x'],250,7)}}, indent=1, ensure_ascii=False))
