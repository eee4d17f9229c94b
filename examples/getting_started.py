"""RecoGym's getting-started notebook, cell by cell.

Only the import lines and ``gym.make`` differ from the notebook
(``import gym, reco_gym`` -> ``import recogym``; ``gym.make`` -> ``recogym.make``;
``from agents import ...`` -> ``from recogym.agents import ...``).
Run it with ``python examples/getting_started.py``.
"""
# In [1]:
import recogym

# env_0_args is a dictionary of default parameters (i.e. number of products)
from recogym import env_1_args

# you can overwrite environment arguments here:
env_1_args['random_seed'] = 42

# initialize the gym for the first time by calling .make() and .init_gym()
env = recogym.make('reco-gym-v1')
env.init_gym(env_1_args)

# .reset() env before each episode (one episode per user)
env.reset()
done = False

# counting how many steps
i = 0

while not done:
    action, observation, reward, done, info = env.step_offline()
    print(f"Step: {i} - Action: {action} - Observation: {observation} - Reward: {reward}")
    i += 1

# In [2]:
# create list of hard coded actions
actions = [None] + [1, 2, 3, 4, 5]

# reset env and set done to False
env.reset()
done = False

# counting how many steps
i = 0

while not done and i < len(actions):
    action = actions[i]
    observation, reward, done, info = env.step(action)
    print(f"Step: {i} - Action: {action} - Observation: {observation} - Reward: {reward}")
    i += 1

# In [3]:
import numpy as np
from numpy.random import choice

# define agent class
class PopularityAgent:
    def __init__(self, num_products):
        # set number of products as an attribute of agent
        self.num_products = num_products

        # track number of times each item viewed in Organic session
        self.organic_views = np.zeros(self.num_products)

    def train(self, observation, action, reward, done):
        """train method learns from a tuple of data.
            this method can be called for offline or online learning"""

        # adding organic session to organic view counts
        if observation is not None:
            for product in observation.get_views():
                self.organic_views[product] += 1

    def act(self, observation, reward, done):
        """act method returns an action based on current observation and past
            history"""

        # choosing action randomly in proportion with number of views
        prob = self.organic_views / sum(self.organic_views)
        action = choice(self.num_products, p = prob)

        return action

# In [4]:
# instantiate instance of PopularityAgent class
num_products = 10
agent = PopularityAgent(num_products)

# resets random seed back to 42, or whatever we set it to in env_0_args
env.reset_random_seed()

# train on 1000 users offline
num_offline_users = 1000

for _ in range(num_offline_users):

    #reset env and set done to False
    env.reset()
    done = False

    while not done:
        old_observation = observation
        action, observation, reward, done, info = env.step_offline()
        agent.train(old_observation, action, reward, done)

# train on 100 users online and track click through rate
num_online_users = 100
num_clicks, num_events = 0, 0

for _ in range(num_online_users):

    #reset env and set done to False
    env.reset()
    observation, _, done, _ = env.step(None)
    reward = None
    done = None
    while not done:
        action = agent.act(observation, reward, done)
        observation, reward, done, info = env.step(action)

        # used for calculating click through rate
        num_clicks += 1 if reward == 1 and reward is not None else 0
        num_events += 1

ctr = num_clicks / num_events


print(f"Click Through Rate: {ctr:.4f}")

# In [5]:
import recogym
from recogym import env_1_args

from copy import deepcopy

env_1_args['random_seed'] = 42

env = recogym.make('reco-gym-v1')
env.init_gym(env_1_args)

# Import the random agent
from recogym.agents import RandomAgent, random_args

# Create the two agents
num_products = env_1_args['num_products']
popularity_agent = PopularityAgent(num_products)
agent_rand = RandomAgent(random_args)

# In [6]:
# credible interval of the ctr median and 0.025 0.975 quantile
print(recogym.test_agent(deepcopy(env), deepcopy(agent_rand), 1000, 1000))

# In [7]:
# credible interval of the ctr median and 0.025 0.975 quantile
print(recogym.test_agent(deepcopy(env), deepcopy(popularity_agent), 1000, 1000))
